//! sfn-local's API request decoding over any request (input: the X-Amz-Target value, a line
//! break, the body), through the HTTP router, with one state machine `m` and one execution of
//! it known: every answer is a 200 or an AWS-shaped 400 (`__type`, `message`, x-amzn-ErrorType).
#![no_main]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fuzz_support::run;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use sfn_local::clock::{Clock, ClockMode};
use sfn_local::engine::Engine;
use sfn_local::lambda::NoLambda;
use sfn_local::service::Service;
use tower::ServiceExt;

const DEFINITION: &str = r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "Next": "P"},
    "P": {"Type": "Pass", "Parameters": {"got.$": "$"}, "End": true}}}"#;

fn service() -> Arc<Service> {
    let engine = Engine::new(Clock::new(ClockMode::Manual), Arc::new(NoLambda), "us-east-1");
    let service = Service::new(engine, "us-east-1", "123456789012");
    let created = service
        .create_state_machine(
            &json!({"name": "m", "definition": DEFINITION, "roleArn": "arn:aws:iam::123456789012:role/r"}),
        )
        .expect("the fixed definition is valid");
    service
        .start_execution(&json!({"stateMachineArn": created["stateMachineArn"], "name": "e", "input": "{}"}))
        .expect("the fixed machine starts");
    service
}

fuzz_target!(|data: &[u8]| {
    let (target, body) = match data.iter().position(|b| *b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(request) = Request::post("/")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", target)
        .body(Body::from(body.to_vec()))
    else {
        return; // not a header value an HTTP client could send
    };
    run(async {
        let router = sfn_local::api::router(service());
        let response = router.oneshot(request).await.expect("the router answers");
        let status = response.status();
        let error_type = response.headers().get("x-amzn-ErrorType").cloned();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
        let answer: Value = serde_json::from_slice(&bytes).expect("every answer is JSON");
        match status {
            StatusCode::OK => assert!(answer.is_object()),
            StatusCode::BAD_REQUEST => {
                let kind = answer["__type"].as_str().expect("a 400 names its __type");
                assert!(answer["message"].is_string(), "a 400 carries a message");
                assert_eq!(error_type.as_ref().and_then(|v| v.to_str().ok()), Some(kind));
            }
            other => panic!("status {other} for {answer}"),
        }
    });
});
