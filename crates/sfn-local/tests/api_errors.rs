//! Malformed requests over HTTP get the answers AWS's JSON 1.0 front end gives: HTTP 400
//! (413 for a body past the limit) with `__type` and `message`, the same type in
//! `x-amzn-ErrorType`, and `application/x-amz-json-1.0`; never a 5xx, never a hang.
//!
//! AWS behaviour relied on: an `X-Amz-Target` naming no operation is
//! `UnknownOperationException`; a body that is not JSON, or a member of the wrong JSON
//! type, is `SerializationException` ("class java.math.BigDecimal can not be converted
//! to an String", "Start of structure or map found where not expected."); model
//! constraints (required members, lengths, ranges, enums) are checked together and
//! reported in one `ValidationException` ("1 validation error detected: Value null at
//! 'stateMachineArn' failed to satisfy constraint: Member must not be null"); an input
//! over 262,144 bytes or a definition over 1,048,576 characters is such a violation.

mod common;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use serde_json::{Value, json};
use sfn_local::clock::ClockMode;

use common::binary::call;
use common::{client, create, serve, service};

const PASS: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;

struct Answer {
    status: u16,
    error_type: Option<String>,
    content_type: Option<String>,
    body: Value,
}

impl Answer {
    fn code(&self) -> Option<&str> {
        self.body["__type"].as_str()
    }

    fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    /// The status, `__type` and header agree, and the message says something.
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!((self.status, self.code()), (status, Some(code)), "{}", self.body);
        assert_eq!(self.error_type.as_deref(), Some(code));
        assert_eq!(self.content_type.as_deref(), Some("application/x-amz-json-1.0"));
        assert!(!self.message().is_empty(), "{}", self.body);
    }
}

async fn post(url: &str, target: Option<&str>, body: impl Into<reqwest::Body>) -> Answer {
    let mut request = reqwest::Client::new().post(url).header("content-type", "application/x-amz-json-1.0");
    if let Some(t) = target {
        request = request.header("x-amz-target", t);
    }
    let response = request.body(body).send().await.expect("the server answers");
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (error_type, content_type) = (header("x-amzn-errortype"), header("content-type"));
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer { status, error_type, content_type, body }
}

async fn op(url: &str, operation: &str, body: &Value) -> Answer {
    post(url, Some(&format!("AWSStepFunctions.{operation}")), body.to_string()).await
}

async fn server() -> (String, String, tokio::task::JoinHandle<()>) {
    let service = service(ClockMode::Virtual);
    let machine = create(&service, "m", &serde_json::from_str(PASS).unwrap_or_default());
    let (url, handle) = serve(service).await;
    (url, machine, handle)
}

#[tokio::test]
async fn an_unknown_or_missing_x_amz_target_is_unknown_operation_exception() {
    let (url, _, handle) = server().await;
    for target in [Some("AWSStepFunctions.FlyToTheMoon"), Some("DynamoDB_20120810.ListTables"), Some(""), None] {
        post(&url, target, "{}").await.assert_error(400, "UnknownOperationException");
    }
    let before_the_body = post(&url, Some("AWSStepFunctions.FlyToTheMoon"), "{not json").await;
    before_the_body.assert_error(400, "UnknownOperationException");
    handle.abort();
}

#[tokio::test]
async fn a_body_that_is_not_json_is_serialization_exception() {
    let (url, _, handle) = server().await;
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies: Vec<Vec<u8>> = vec![
        b"{not json".to_vec(),
        b"{\"stateMachineArn\": \"a\"".to_vec(),
        b"{\"input\": \"\xff\xfe\"}".to_vec(),
        nested.into_bytes(),
        b"[]".to_vec(),
        b"42".to_vec(),
    ];
    for body in bodies {
        let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
        let answer = post(&url, Some("AWSStepFunctions.StartExecution"), body).await;
        assert_eq!(answer.code(), Some("SerializationException"), "{shown}");
        answer.assert_error(400, "SerializationException");
    }
    handle.abort();
}

#[tokio::test]
async fn members_of_the_wrong_json_type_are_serialization_exception_with_corals_message() {
    let (url, machine, handle) = server().await;
    let cases = [
        (
            "StartExecution",
            json!({"stateMachineArn": machine, "input": 5}),
            "class java.math.BigDecimal can not be converted to an String",
        ),
        (
            "StartExecution",
            json!({"stateMachineArn": {"arn": machine}}),
            "Start of structure or map found where not expected.",
        ),
        (
            "StartExecution",
            json!({"stateMachineArn": machine, "name": ["a"]}),
            "Start of list found where not expected",
        ),
        (
            "ListExecutions",
            json!({"stateMachineArn": machine, "maxResults": "10"}),
            "class java.lang.String can not be converted to an Integer",
        ),
        (
            "CreateStateMachine",
            json!({"name": true, "definition": PASS, "roleArn": "r"}),
            "class java.lang.Boolean can not be converted to an String",
        ),
        (
            "GetExecutionHistory",
            json!({"executionArn": "a", "reverseOrder": 1}),
            "class java.math.BigDecimal can not be converted to an Boolean",
        ),
    ];
    for (operation, body, message) in cases {
        let answer = op(&url, operation, &body).await;
        answer.assert_error(400, "SerializationException");
        assert_eq!(answer.message(), message, "{operation} {body}");
    }
    handle.abort();
}

#[tokio::test]
async fn missing_required_members_are_one_validation_exception_listing_each() {
    let (url, machine, handle) = server().await;
    let answer = op(&url, "StartExecution", &json!({"input": "{}"})).await;
    answer.assert_error(400, "ValidationException");
    assert_eq!(
        answer.message(),
        "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null"
    );
    let answer = op(&url, "CreateStateMachine", &json!({"name": "ok", "definition": null})).await;
    answer.assert_error(400, "ValidationException");
    assert_eq!(
        answer.message(),
        "2 validation errors detected: Value null at 'definition' failed to satisfy constraint: Member must not be null; \
         Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    );
    for (operation, body) in [
        ("DescribeExecution", json!({})),
        ("GetExecutionHistory", json!({"reverseOrder": true})),
        ("StopExecution", json!({"cause": "x"})),
        ("DescribeStateMachine", json!({})),
        ("ListExecutions", json!({"statusFilter": "RUNNING"})),
    ] {
        let answer = op(&url, operation, &body).await;
        answer.assert_error(400, "ValidationException");
        assert!(answer.message().contains("Member must not be null"), "{operation}: {}", answer.message());
    }
    let answer =
        op(&url, "ListExecutions", &json!({"stateMachineArn": machine, "statusFilter": "DONE", "maxResults": 1001}))
            .await;
    answer.assert_error(400, "ValidationException");
    assert_eq!(
        answer.message(),
        "2 validation errors detected: Value 'DONE' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: \
         [RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE]; \
         Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
    );
    handle.abort();
}

#[tokio::test]
async fn oversized_input_definition_name_and_body_are_refused_as_aws_does() {
    let (url, machine, handle) = server().await;
    // A JSON string of exactly 262,144 bytes is accepted; one byte more is not.
    let input = |len: usize| json!("x".repeat(len - 2)).to_string();
    assert_eq!(
        op(&url, "StartExecution", &json!({"stateMachineArn": machine, "input": input(262_144)})).await.status,
        200
    );
    let answer = op(&url, "StartExecution", &json!({"stateMachineArn": machine, "input": input(262_145)})).await;
    answer.assert_error(400, "ValidationException");
    assert_eq!(
        answer.message(),
        "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have size less than or equal to 262144 bytes in UTF-8 encoding",
        "the input is not echoed back"
    );
    let sfn = client(&url);
    let big = sfn.start_execution().state_machine_arn(&machine).input(input(300_000)).send().await;
    assert_eq!(big.expect_err("refused").code(), Some("ValidationException"), "aws-sdk-sfn reads it as AWS's");

    let definition = format!("{PASS}{}", " ".repeat(1_048_577 - PASS.len()));
    let answer =
        op(&url, "CreateStateMachine", &json!({"name": "big", "definition": definition, "roleArn": "r"})).await;
    answer.assert_error(400, "ValidationException");
    assert!(answer.message().contains(
        "Value at 'definition' failed to satisfy constraint: Member must have length less than or equal to 1048576"
    ));

    let name = "n".repeat(81);
    let answer = op(&url, "StartExecution", &json!({"stateMachineArn": machine, "name": name})).await;
    answer.assert_error(400, "ValidationException");
    assert!(
        answer
            .message()
            .ends_with("at 'name' failed to satisfy constraint: Member must have length less than or equal to 80")
    );

    let body = format!("{{\"stateMachineArn\": \"{machine}\", \"input\": \"{}\"}}", "x".repeat(5 * 1_048_576));
    op(&url, "StartExecution", &Value::Null).await.assert_error(400, "SerializationException");
    post(&url, Some("AWSStepFunctions.StartExecution"), body).await.assert_error(413, "RequestEntityTooLargeException");
    let (status, _) = call(&reqwest::Client::new(), &url, "ListStateMachines", &json!({})).await;
    assert_eq!(status, 200, "the server still answers");
    handle.abort();
}
