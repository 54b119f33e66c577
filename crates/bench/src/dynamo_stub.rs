//! A DynamoDB stand-in on loopback that answers `BatchWriteItem` after a fixed delay, to
//! measure how far the csv-processor's calls in flight overlap.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

#[derive(Clone)]
pub struct DynamoStub {
    pub delay: Duration,
    pub items: Arc<AtomicU64>,
}

impl DynamoStub {
    pub async fn start(delay: Duration) -> std::io::Result<(String, Self)> {
        let stub = Self { delay, items: Arc::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Router::new().route("/", post(answer)).with_state(stub.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok((url, stub))
    }
}

async fn answer(
    axum::extract::State(stub): axum::extract::State<DynamoStub>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if target != "DynamoDB_20120810.BatchWriteItem" {
        return (
            StatusCode::BAD_REQUEST,
            format!("{{\"__type\":\"UnknownOperationException\",\"message\":\"{target}\"}}"),
        )
            .into_response();
    }
    // Count the items without parsing the whole body: one PutRequest each.
    let count = body.windows(b"PutRequest".len()).filter(|w| *w == b"PutRequest").count() as u64;
    stub.items.fetch_add(count, Ordering::Relaxed);
    tokio::time::sleep(stub.delay).await;
    let mut response = (StatusCode::OK, "{\"UnprocessedItems\":{}}").into_response();
    response.headers_mut().insert("content-type", axum::http::HeaderValue::from_static("application/x-amz-json-1.0"));
    response
}
