//! The S3 event pump: S3 invokes a function asynchronously on an upload; moto can only deliver
//! the notification to SQS, so the pump long-polls that queue and invokes the function with
//! the event exactly as delivered. As Lambda's asynchronous invocation does, a failed event is
//! retried (`maxAttempts` in all, sooner than Lambda's 1 and 2 minutes) and then kept, as an
//! on-failure destination record, on a dead-letter queue.

use std::time::Duration;

use serde_json::{Value, json};

/// One queue and the function its events go to (`.stack/pump.json`, written by provisioning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PumpConfig {
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    pub function: String,
    pub max_attempts: u32,
}

pub fn parse_configs(text: &str) -> Result<Vec<PumpConfig>, String> {
    let parsed: Vec<Value> = serde_json::from_str(text).map_err(|e| format!("not a JSON array: {e}"))?;
    parsed
        .iter()
        .map(|entry| {
            let field = |name: &str| {
                entry
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("entry without '{name}'"))
            };
            let max_attempts = entry.get("maxAttempts").and_then(Value::as_u64).unwrap_or(3).clamp(1, 100) as u32;
            Ok(PumpConfig {
                queue_url: field("queueUrl")?,
                dead_letter_queue_url: field("deadLetterQueueUrl")?,
                function: field("function")?,
                max_attempts,
            })
        })
        .collect()
}

/// moto's S3 event records carry no `sequencer` (AWS's always do, unique per write), so two
/// uploads of the same bytes under one key would look like one redelivered event. The pump
/// adds one derived from the SQS message id: stable when the message is redelivered, distinct
/// per notification. Everything else, and events that already have one, pass as delivered.
pub fn with_sequencer(body: &str, message_id: &str) -> String {
    let Ok(mut event) = serde_json::from_str::<Value>(body) else {
        return body.to_owned();
    };
    let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) else {
        return body.to_owned();
    };
    let base: String = message_id.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_uppercase();
    let mut changed = false;
    for (index, record) in records.iter_mut().enumerate() {
        if let Some(object) = record.pointer_mut("/s3/object").and_then(Value::as_object_mut)
            && !object.contains_key("sequencer")
        {
            object.insert("sequencer".into(), json!(format!("{base}{index:04X}")));
            changed = true;
        }
    }
    if changed { event.to_string() } else { body.to_owned() }
}

/// What becomes of a message after its invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Handled (or nothing to handle): delete it.
    Done,
    /// Failed, attempts remain: visible again after this many seconds.
    RetryAfter(u32),
    /// Failed its last attempt: record it on the dead-letter queue, then delete it.
    DeadLetter,
}

/// S3 sends `s3:TestEvent` to a queue when its notification is configured; S3 never sends it
/// to a Lambda function, so the pump drops it.
pub fn is_s3_test_event(body: &str) -> bool {
    serde_json::from_str::<Value>(body).ok().and_then(|v| v.get("Event").cloned()) == Some(json!("s3:TestEvent"))
}

pub fn disposition(succeeded: bool, attempt: u32, max_attempts: u32) -> Disposition {
    match (succeeded, attempt >= max_attempts) {
        (true, _) => Disposition::Done,
        (false, true) => Disposition::DeadLetter,
        (false, false) => Disposition::RetryAfter(attempt.min(30)),
    }
}

/// Lambda's on-failure destination record for an event whose retries ran out.
pub fn failure_record(
    function: &str,
    event: &str,
    attempts: u32,
    error: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    let payload = serde_json::from_str::<Value>(event).unwrap_or_else(|_| json!(event));
    json!({
        "version": "1.0",
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "requestContext": {
            "requestId": uuid::Uuid::new_v4().to_string(),
            "functionArn": format!("arn:aws:lambda:us-east-1:123456789012:function:{function}:$LATEST"),
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": error,
    })
}

/// The few SQS calls the pump makes, in SQS's JSON protocol.
pub struct Sqs {
    pub endpoint: String,
    pub client: reqwest::Client,
}

pub struct Received {
    pub message_id: String,
    pub body: String,
    pub receipt_handle: String,
    pub receive_count: u32,
}

impl Sqs {
    async fn call(&self, operation: &str, request: Value) -> Result<Value, String> {
        let response = self
            .client
            .post(&self.endpoint)
            .header("x-amz-target", format!("AmazonSQS.{operation}"))
            .header("content-type", "application/x-amz-json-1.0")
            // The emulator routes a request to a service by its credential scope; it checks no signature.
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(request.to_string())
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| format!("SQS {operation}: {e}"))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| format!("SQS {operation}: {e}"))?;
        if !status.is_success() {
            return Err(format!("SQS {operation}: {status} {text}"));
        }
        serde_json::from_str(&text).map_err(|_| format!("SQS {operation}: the answer is not SQS's JSON: {:.200}", text))
    }

    pub async fn receive(&self, queue_url: &str, wait_seconds: u32) -> Result<Vec<Received>, String> {
        let answer = self
            .call(
                "ReceiveMessage",
                json!({"QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": wait_seconds,
                    "MessageSystemAttributeNames": ["ApproximateReceiveCount"], "AttributeNames": ["All"]}),
            )
            .await?;
        let messages = answer.get("Messages").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(messages
            .iter()
            .filter_map(|m| {
                Some(Received {
                    message_id: m.get("MessageId")?.as_str()?.to_owned(),
                    body: m.get("Body")?.as_str()?.to_owned(),
                    receipt_handle: m.get("ReceiptHandle")?.as_str()?.to_owned(),
                    receive_count: m
                        .pointer("/Attributes/ApproximateReceiveCount")
                        .and_then(Value::as_str)
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1),
                })
            })
            .collect())
    }

    pub async fn delete(&self, queue_url: &str, receipt_handle: &str) -> Result<(), String> {
        self.call("DeleteMessage", json!({"QueueUrl": queue_url, "ReceiptHandle": receipt_handle})).await.map(drop)
    }

    pub async fn send(&self, queue_url: &str, body: &str) -> Result<(), String> {
        self.call("SendMessage", json!({"QueueUrl": queue_url, "MessageBody": body})).await.map(drop)
    }

    pub async fn retry_after(&self, queue_url: &str, receipt_handle: &str, seconds: u32) -> Result<(), String> {
        self.call(
            "ChangeMessageVisibility",
            json!({"QueueUrl": queue_url, "ReceiptHandle": receipt_handle, "VisibilityTimeout": seconds}),
        )
        .await
        .map(drop)
    }
}

/// Invokes `function` with `event` as is; `Err` carries the function's error (or the failure).
pub async fn invoke_event(
    client: &reqwest::Client,
    lambda_endpoint: &str,
    function: &str,
    event: &str,
) -> Result<(), Value> {
    let url = format!("{}/2015-03-31/functions/{function}/invocations", lambda_endpoint.trim_end_matches('/'));
    let response = client
        .post(url)
        .body(event.to_owned())
        .timeout(Duration::from_secs(900))
        .send()
        .await
        .map_err(|e| json!({"errorType": "InvokeFailed", "errorMessage": e.to_string()}))?;
    let failed = response.headers().contains_key("x-amz-function-error") || !response.status().is_success();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    if failed {
        return Err(serde_json::from_str(&text).unwrap_or_else(
            |_| json!({"errorType": "InvokeFailed", "errorMessage": format!("status {status}: {text}")}),
        ));
    }
    Ok(())
}

/// Pumps one queue until the process ends.
pub async fn run(config: PumpConfig, sqs: Sqs, lambda_endpoint: String) {
    loop {
        let messages = match sqs.receive(&config.queue_url, 1).await {
            Ok(messages) => messages,
            Err(error) => {
                eprintln!("local-gateway pump: {error}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for message in messages {
            let outcome = if is_s3_test_event(&message.body) {
                Ok(())
            } else {
                let event = with_sequencer(&message.body, &message.message_id);
                invoke_event(&sqs.client, &lambda_endpoint, &config.function, &event).await
            };
            let result = match (disposition(outcome.is_ok(), message.receive_count, config.max_attempts), outcome) {
                (Disposition::Done, _) => sqs.delete(&config.queue_url, &message.receipt_handle).await,
                (Disposition::RetryAfter(seconds), error) => {
                    eprintln!(
                        "local-gateway pump: {} failed (attempt {}): {:?}",
                        config.function,
                        message.receive_count,
                        error.err()
                    );
                    sqs.retry_after(&config.queue_url, &message.receipt_handle, seconds).await
                }
                (Disposition::DeadLetter, error) => {
                    let error = error.err().unwrap_or(Value::Null);
                    let record = failure_record(
                        &config.function,
                        &message.body,
                        message.receive_count,
                        &error,
                        chrono::Utc::now(),
                    );
                    eprintln!(
                        "local-gateway pump: {} failed {} times, event kept on the dead-letter queue",
                        config.function, message.receive_count
                    );
                    match sqs.send(&config.dead_letter_queue_url, &record.to_string()).await {
                        Ok(()) => sqs.delete(&config.queue_url, &message.receipt_handle).await,
                        Err(error) => Err(error),
                    }
                }
            };
            if let Err(error) = result {
                eprintln!("local-gateway pump: {error}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_retried_then_dead_lettered_as_lambda_async_invocation_does() {
        assert_eq!(disposition(true, 1, 3), Disposition::Done);
        assert_eq!(disposition(true, 3, 3), Disposition::Done);
        assert_eq!(disposition(false, 1, 3), Disposition::RetryAfter(1));
        assert_eq!(disposition(false, 2, 3), Disposition::RetryAfter(2));
        assert_eq!(disposition(false, 3, 3), Disposition::DeadLetter);
        assert_eq!(disposition(false, 1, 1), Disposition::DeadLetter, "no retries configured");
    }

    #[test]
    fn moto_records_get_a_sequencer_stable_per_message_and_others_pass_as_delivered() {
        let moto = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"object":{"key":"incoming%2Fa+b.csv","eTag":"e"}}}]}"#;
        let completed: Value = serde_json::from_str(&with_sequencer(moto, "0a1b-2c")).expect("json");
        assert_eq!(completed["Records"][0]["s3"]["object"]["sequencer"], "0A1B2C0000");
        assert_eq!(completed["Records"][0]["s3"]["object"]["key"], "incoming%2Fa+b.csv", "the key stays encoded");
        assert_eq!(with_sequencer(moto, "0a1b-2c"), with_sequencer(moto, "0a1b-2c"));
        assert_ne!(with_sequencer(moto, "0a1b-2c"), with_sequencer(moto, "0a1b-2d"));
        let aws = r#"{"Records":[{"s3":{"object":{"key":"k","sequencer":"0055AED6DCD90281E5"}}}]}"#;
        assert_eq!(with_sequencer(aws, "ff"), aws);
        assert_eq!(with_sequencer("not json", "ff"), "not json");
    }

    #[test]
    fn s3_test_events_are_recognised_and_uploads_are_not() {
        assert!(is_s3_test_event(r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#));
        assert!(!is_s3_test_event(r#"{"Records":[{"eventName":"ObjectCreated:Put"}]}"#));
        assert!(!is_s3_test_event("not json"));
    }

    #[test]
    fn the_failure_record_has_the_on_failure_destination_shape() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").expect("instant").to_utc();
        let record = failure_record("ingest-starter", r#"{"Records":[]}"#, 3, &json!({"errorType": "StartFailed"}), at);
        assert_eq!(record["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(record["requestPayload"], json!({"Records": []}));
        assert_eq!(record["responsePayload"]["errorType"], "StartFailed");
        assert_eq!(record["timestamp"], "2026-01-02T03:04:05.000Z");
    }

    #[test]
    fn pump_configs_are_read_with_their_fields_named_when_missing() {
        let configs =
            parse_configs(r#"[{"queueUrl": "q", "deadLetterQueueUrl": "d", "function": "f", "maxAttempts": 3}]"#)
                .expect("config");
        assert_eq!(configs[0].max_attempts, 3);
        let error = parse_configs(r#"[{"queueUrl": "q"}]"#).expect_err("missing fields");
        assert!(error.contains("deadLetterQueueUrl"), "{error}");
    }
}
