//! A local stand-in for Amazon Pinpoint `SendMessages` (moto does not implement it).
//!
//! `POST /v1/apps/{app}/messages` answers as Pinpoint does, one result per address:
//! tokens starting with `invalid` get `PERMANENT_FAILURE`, others `SUCCESSFUL`.
//! `GET /_local/messages` lists the requests received; `DELETE` clears them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Parser;
use serde_json::{Map, Value, json};

#[derive(Parser)]
#[command(name = "local-pinpoint", about = "Records Pinpoint SendMessages calls on loopback")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:4570")]
    listen: SocketAddr,
}

type Recorded = Arc<Mutex<Vec<Value>>>;

fn recorded(store: &Recorded) -> std::sync::MutexGuard<'_, Vec<Value>> {
    store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn send_messages(State(store): State<Recorded>, Path(app_id): Path<String>, body: axum::body::Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, axum::Json(json!({"Message": format!("body is not JSON: {e}")})))
                .into_response();
        }
    };
    let Some(addresses) = request.get("Addresses").and_then(Value::as_object) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"Message": "MessageRequest.Addresses is required here"})))
            .into_response();
    };
    let mut results = Map::new();
    for (token, config) in addresses {
        let channel = config.get("ChannelType").and_then(Value::as_str).unwrap_or("");
        let (status, code, message) = if !matches!(channel, "APNS" | "APNS_SANDBOX" | "GCM") {
            ("PERMANENT_FAILURE", 400, format!("unsupported channel type '{channel}'"))
        } else if token.starts_with("invalid") {
            ("PERMANENT_FAILURE", 410, "the device token is no longer valid".to_owned())
        } else {
            ("SUCCESSFUL", 200, "delivered to the local push recorder".to_owned())
        };
        results.insert(
            token.clone(),
            json!({"DeliveryStatus": status, "StatusCode": code, "StatusMessage": message, "MessageId": uuid::Uuid::new_v4().to_string()}),
        );
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    recorded(&store).push(json!({"applicationId": app_id, "requestId": request_id, "request": request}));
    axum::Json(json!({"ApplicationId": app_id, "RequestId": request_id, "Result": results})).into_response()
}

fn router(store: Recorded) -> Router {
    Router::new()
        .route("/v1/apps/{app}/messages", post(send_messages))
        .route(
            "/_local/messages",
            get(|State(store): State<Recorded>| async move { axum::Json(Value::Array(recorded(&store).clone())) })
                .delete(|State(store): State<Recorded>| async move {
                    recorded(&store).clear();
                    StatusCode::NO_CONTENT
                }),
        )
        .route("/_local/health", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .with_state(store)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("local-pinpoint: cannot listen on {}: {e}", args.listen);
            return std::process::ExitCode::from(2);
        }
    };
    eprintln!("local-pinpoint: recording SendMessages on http://{}", args.listen);
    match axum::serve(listener, router(Arc::default())).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local-pinpoint: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_per_address_and_records() {
        let store: Recorded = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(axum::serve(listener, router(Arc::clone(&store))).into_future());
        let client = reqwest::Client::new();
        let body = json!({"Addresses": {"tok-1": {"ChannelType": "APNS"}, "invalid-2": {"ChannelType": "GCM"}},
            "MessageConfiguration": {"APNSMessage": {"Title": "Friday!", "Body": "It is Friday"}}});
        let response: Value = client
            .post(format!("{url}/v1/apps/local-app/messages"))
            .json(&body)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        assert_eq!(response["Result"]["tok-1"]["DeliveryStatus"], json!("SUCCESSFUL"));
        assert_eq!(response["Result"]["invalid-2"]["DeliveryStatus"], json!("PERMANENT_FAILURE"));
        let listed: Value =
            client.get(format!("{url}/_local/messages")).send().await.expect("list").json().await.expect("json");
        assert_eq!(listed[0]["applicationId"], json!("local-app"));
        assert_eq!(listed[0]["request"]["MessageConfiguration"]["APNSMessage"]["Title"], json!("Friday!"));
        client.delete(format!("{url}/_local/messages")).send().await.expect("clear");
        assert!(recorded(&store).is_empty());
        let bad = client.post(format!("{url}/v1/apps/a/messages")).body("{}").send().await.expect("send");
        assert_eq!(bad.status(), 400);
        server.abort();
    }
}
