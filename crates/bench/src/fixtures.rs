//! What the benches hand the functions: the stack's resource names and the environment built
//! from them, generated sensor CSVs, typical events, and the data those events read (seeded
//! once per run).

use serde_json::{Value, json};

use crate::stack::local;

/// The customer seeded for signup-reminder and signup-confirm (any 32 hex digits form an id).
pub(crate) const BENCH_CUSTOMER: &str = "0000000000000000000000000000bec0";

const NOOP_MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:bench-noop";

/// A generated sensor CSV of `rows` rows over 100 sensors.
pub(crate) fn sensor_csv(rows: usize, tag: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * 28 + 32);
    out.extend_from_slice(b"sensor_id,timestamp,value\n");
    for i in 0..rows {
        use std::io::Write;
        let _ = writeln!(out, "{tag}-{},{},{}.{}", i % 100, 1_700_000_000 + i / 100, i % 1000, i % 10);
    }
    out
}

/// DESIGN.md's resource variables, with the names the stack gives by default.
const RESOURCES: [(&str, &str); 9] = [
    ("SOURCE_BUCKET", "sensor-uploads"),
    ("TARGET_BUCKET", "sensor-archive"),
    ("SENSOR_TABLE", "sensor_data"),
    ("USERS_TABLE", "users"),
    ("CUSTOMERS_TABLE", "customers"),
    ("STUDENTS_TABLE", "students"),
    ("COURSES_TABLE", "courses"),
    ("PAYMENTS_TABLE", "payments"),
    ("ENROLLMENTS_TABLE", "enrollments"),
];

/// A resource's name as the stack was given it: its variable when set, else the default.
pub(crate) fn resource(variable: &str) -> String {
    let default = RESOURCES.iter().find(|(name, _)| *name == variable).map_or(variable, |(_, d)| *d);
    std::env::var(variable).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

pub(crate) fn function_env(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![
        ("AWS_ENDPOINT_URL".to_owned(), local("MOTO_PORT", 4566)),
        ("AWS_ENDPOINT_URL_SFN".to_owned(), local("SFN_PORT", 8083)),
        ("AWS_ENDPOINT_URL_PINPOINT".to_owned(), local("PINPOINT_PORT", 4570)),
        ("CSV_INGEST_STATE_MACHINE_ARN".to_owned(), NOOP_MACHINE.to_owned()),
        ("FRIDAY_REMINDER_STATE_MACHINE_ARN".to_owned(), NOOP_MACHINE.to_owned()),
        ("CONFIRMATION_REMINDER_STATE_MACHINE_ARN".to_owned(), NOOP_MACHINE.to_owned()),
    ];
    env.extend(RESOURCES.iter().map(|(variable, _)| ((*variable).to_owned(), resource(variable))));
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    env
}

/// Where the bench keeps the objects it hands to functions directly: outside `incoming/`, so
/// the stack's upload notification does not start a workflow that would move them away.
pub(crate) const DIRECT: &str = "bench-direct";

/// An S3 notification for `key`; no ETag, so the execution reads whatever the key holds.
pub(crate) fn s3_event(key: &str, sequencer: &str) -> Value {
    let source = resource("SOURCE_BUCKET");
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": "2026-11-21T10:00:00.000Z",
        "eventName": "ObjectCreated:Put", "userIdentity": {"principalId": "bench"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {}, "s3": {"s3SchemaVersion": "1.0", "configurationId": "bench",
            "bucket": {"name": source, "ownerIdentity": {"principalId": "bench"}, "arn": format!("arn:aws:s3:::{source}")},
            "object": {"key": key, "size": 10, "sequencer": sequencer}}}]})
}

pub(crate) fn api_event(user: &str) -> Value {
    json!({"version": "2.0", "routeKey": "GET /friday", "rawPath": "/friday", "rawQueryString": format!("userId={user}"),
        "headers": {}, "queryStringParameters": {"userId": user},
        "requestContext": {"accountId": "123456789012", "apiId": "bench", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": "GET", "path": "/friday", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "GET /friday", "stage": "$default", "time": "", "timeEpoch": 0},
        "isBase64Encoded": false})
}

pub(crate) const BENCH_STUDENT: &str = "bench-student@example.com";

pub(crate) fn enrollment_event(email: &str) -> Value {
    json!({"name": "Bench Student", "email": email, "courseId": "bench-course", "paymentId": "bench-payment"})
}

pub(crate) fn enrollment_validate_event() -> Value {
    let mut event = enrollment_event(BENCH_STUDENT);
    event["checks"] = json!([{"check": "name", "valid": true}, {"check": "email", "valid": true},
        {"check": "payment", "valid": true}]);
    event
}

fn http_event(method: &str, path: &str, query: Value, body: Option<String>) -> Value {
    json!({"version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"}, "queryStringParameters": query, "body": body,
        "requestContext": {"accountId": "123456789012", "apiId": "bench", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": format!("{method} {path}"), "stage": "$default", "time": "", "timeEpoch": 0},
        "isBase64Encoded": false})
}

pub(crate) fn register_event(email: &str) -> Value {
    http_event("POST", "/register", Value::Null, Some(json!({"email": email, "name": "Bench"}).to_string()))
}

pub(crate) fn confirm_event() -> Value {
    http_event("GET", "/confirm", json!({"customerId": BENCH_CUSTOMER, "token": "bench-token"}), None)
}

/// Seeds what the typical invocations read, and a no-op state machine for the starters.
pub(crate) async fn seed(
    s3: &aws_sdk_s3::Client,
    dynamodb: &aws_sdk_dynamodb::Client,
    sfn: &aws_sdk_sfn::Client,
) -> Result<(), String> {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    s3.put_object()
        .bucket(resource("SOURCE_BUCKET"))
        .key(format!("{DIRECT}/bench-small.csv"))
        .body(sensor_csv(100, "small").into())
        .send()
        .await
        .map_err(|e| format!("seeding S3: {e:?}"))?;
    let device = |token: &str, platform: &str| {
        A::M([("token".to_owned(), A::S(token.into())), ("platform".to_owned(), A::S(platform.into()))].into())
    };
    dynamodb
        .put_item()
        .table_name(resource("USERS_TABLE"))
        .item("userId", A::S("bench-user".into()))
        .item("timezone", A::S("Europe/Paris".into()))
        .item("notifyHour", A::N("9".into()))
        .item("devices", A::L(vec![device("bench-apns", "APNS"), device("bench-gcm", "GCM")]))
        .send()
        .await
        .map_err(|e| format!("seeding DynamoDB: {e:?}"))?;
    seed_enrollment(dynamodb).await?;
    // A PENDING customer: signup-reminder sends its reminder, signup-confirm confirms it
    // (then answers "already confirmed", the same 200).
    let mut customer = dynamodb.put_item().table_name(resource("CUSTOMERS_TABLE"));
    for (attr, value) in [
        ("customerId", BENCH_CUSTOMER),
        ("email", "bench-customer@example.com"),
        ("name", "Bench"),
        ("status", "PENDING"),
        ("token", "bench-token"),
        ("traceId", "bench-trace"),
        ("registeredAt", "2026-11-20T10:00:00.000Z"),
    ] {
        customer = customer.item(attr, A::S(value.into()));
    }
    customer.send().await.map_err(|e| format!("seeding the customer: {e:?}"))?;
    let noop = r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#;
    let created = sfn
        .create_state_machine()
        .name("bench-noop")
        .definition(noop)
        .role_arn("arn:aws:iam::123456789012:role/bench")
        .send()
        .await;
    if let Err(e) = created {
        let exists = e.as_service_error().is_some_and(|e| e.is_state_machine_already_exists());
        if !exists {
            return Err(format!("creating bench-noop: {e:?}"));
        }
    }
    Ok(())
}

/// A student, a paid payment and a course with seats enough for every cold start of
/// enrollment-enroll (reset on each run).
async fn seed_enrollment(dynamodb: &aws_sdk_dynamodb::Client) -> Result<(), String> {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let put = |table: &str, item: Vec<(&str, A)>| {
        let request = dynamodb.put_item().table_name(table);
        item.into_iter().fold(request, |r, (k, v)| r.item(k, v)).send()
    };
    let failed = |e| format!("seeding the enrollment tables: {e:?}");
    put(
        &resource("STUDENTS_TABLE"),
        vec![("email", A::S(BENCH_STUDENT.into())), ("name", A::S("Bench Student".into()))],
    )
    .await
    .map_err(failed)?;
    put(
        &resource("COURSES_TABLE"),
        vec![
            ("courseId", A::S("bench-course".into())),
            ("price", A::N("10".into())),
            ("seatsAvailable", A::N("1000000".into())),
        ],
    )
    .await
    .map_err(failed)?;
    put(
        &resource("PAYMENTS_TABLE"),
        vec![
            ("paymentId", A::S("bench-payment".into())),
            ("email", A::S(BENCH_STUDENT.into())),
            ("courseId", A::S("bench-course".into())),
            ("amount", A::N("10".into())),
            ("status", A::S("PAID".into())),
        ],
    )
    .await
    .map_err(failed)?;
    Ok(())
}

/// Puts `body` at `key` in the source bucket.
pub(crate) async fn put_source_object(s3: &aws_sdk_s3::Client, key: &str, body: Vec<u8>) -> Result<(), String> {
    s3.put_object()
        .bucket(resource("SOURCE_BUCKET"))
        .key(key)
        .body(body.into())
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(())
}
