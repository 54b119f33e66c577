//! The csv-ingest handlers on in-memory ports.

use std::time::Duration;

use common::PortError;
use common::ports::memory::{MemoryItemStore, MemoryObjectStore, MemoryWorkflowStarter, RecordingEmailSender};
use common::ports::{AttrValue, ObjectStore};
use ingest::emailer::{ReportInput, send_report};
use ingest::mover::{Destination, MoveInput, move_object};
use ingest::processor::{ProcessInput, ProcessOutput, ProcessorConfig, process};
use ingest::starter::start_uploads;
use serde_json::json;

const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:csv-ingest";

fn s3_event(records: &[(&str, &str, &str)]) -> serde_json::Value {
    let records: Vec<_> = records
        .iter()
        .map(|(event, key, sequencer)| {
            json!({
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-11-21T10:00:00.000Z", "eventName": event,
                "userIdentity": {"principalId": "local"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {},
                "s3": {"s3SchemaVersion": "1.0", "configurationId": "csv-upload",
                       "bucket": {"name": "sensor-uploads", "ownerIdentity": {"principalId": "local"}, "arn": "arn:aws:s3:::sensor-uploads"},
                       "object": {"key": key, "size": 42, "eTag": "abc", "sequencer": sequencer}}
            })
        })
        .collect();
    json!({"Records": records})
}

#[tokio::test]
async fn starter_starts_every_csv_record_once_and_skips_the_rest() {
    let sfn = MemoryWorkflowStarter::new();
    let event = s3_event(&[
        ("ObjectCreated:Put", "incoming/day+1.csv", "01"),
        ("ObjectCreated:Put", "incoming/caf%C3%A9%2Bmore.csv", "02"),
        ("ObjectCreated:Put", "incoming/notes.txt", "03"),
        ("ObjectRemoved:Delete", "incoming/old.csv", "04"),
        ("ObjectCreated:Copy", "processed/x.csv", "05"),
    ]);
    let out = start_uploads(&sfn, ARN, &event).await.expect("started");
    let keys: Vec<&str> = out.started.iter().map(|s| s.object_key.as_str()).collect();
    assert_eq!(keys, ["incoming/day 1.csv", "incoming/café+more.csv"]);
    assert_eq!(out.skipped.len(), 3);
    let started = sfn.started();
    assert_eq!(
        started[0].input,
        json!({"bucketName": "sensor-uploads", "objectKey": "incoming/day 1.csv", "size": 42, "eTag": "abc", "versionId": null})
    );

    let again =
        start_uploads(&sfn, ARN, &s3_event(&[("ObjectCreated:Put", "incoming/day+1.csv", "01")])).await.expect("ok");
    assert!(again.started[0].already_started, "a redelivered event starts nothing new");
    assert_eq!(again.started[0].execution_arn, out.started[0].execution_arn);
    assert_eq!(sfn.started().len(), 2);

    let reupload =
        start_uploads(&sfn, ARN, &s3_event(&[("ObjectCreated:Put", "incoming/day+1.csv", "99")])).await.expect("ok");
    assert!(!reupload.started[0].already_started, "a new upload of the same key is new work");
}

#[tokio::test]
async fn starter_failure_is_transient_so_s3_retries() {
    let sfn = MemoryWorkflowStarter::new();
    sfn.failures.push(PortError::Transient { service: "sfn", message: "throttled".into() });
    let err = start_uploads(&sfn, ARN, &s3_event(&[("ObjectCreated:Put", "incoming/a.csv", "1")])).await.unwrap_err();
    assert_eq!(err.name, "TransientError");
}

fn config() -> ProcessorConfig {
    ProcessorConfig {
        sensor_table: "sensor_data".into(),
        target_bucket: "sensor-archive".into(),
        write_concurrency: 4,
        max_write_attempts: 4,
        retry_base: Duration::from_millis(1),
        report_part_size: common::ports::MIN_PART_SIZE,
    }
}

fn table() -> MemoryItemStore {
    MemoryItemStore::new().with_table("sensor_data", &["sensor_id", "timestamp"])
}

async fn run(
    store: &MemoryObjectStore,
    db: &MemoryItemStore,
    key: &str,
    body: &[u8],
) -> Result<ProcessOutput, common::WorkflowError> {
    store.insert("sensor-uploads", key, body.to_vec());
    process(store, db, &config(), input(key)).await
}

fn input(key: &str) -> ProcessInput {
    ProcessInput { bucket_name: "sensor-uploads".into(), object_key: key.into(), e_tag: None, version_id: None }
}

fn value_of(db: &MemoryItemStore, sensor: &str, ts: i64) -> Option<String> {
    db.items("sensor_data")
        .into_iter()
        .find(|i| {
            i.get("sensor_id") == Some(&AttrValue::string(sensor)) && i.get("timestamp") == Some(&AttrValue::number(ts))
        })
        .and_then(|i| i.get("value").and_then(AttrValue::as_number).map(str::to_owned))
}

#[tokio::test]
async fn processor_writes_a_good_file_with_bom_header_and_crlf() {
    let (store, db) = (MemoryObjectStore::new(), table());
    let out = run(
        &store,
        &db,
        "incoming/good.csv",
        b"\xEF\xBB\xBFsensor_id,timestamp,value\r\ns1,1,20.5\r\ns2,1,-3\r\n\r\ns1,2,21\r\n",
    )
    .await
    .expect("ok");
    assert_eq!((out.rows_read, out.rows_written, out.rows_superseded, out.rows_rejected), (3, 3, 0, 0));
    assert_eq!(out.rejected_key, None);
    assert_eq!(db.items("sensor_data").len(), 3);
    assert_eq!(value_of(&db, "s1", 1).as_deref(), Some("20.5"));
    assert!(store.keys("sensor-archive").is_empty(), "no rejected report without rejected rows");
}

#[tokio::test]
async fn processor_reports_every_rejected_row_with_line_and_reason() {
    let (store, db) = (MemoryObjectStore::new(), table());
    let body = b"s1,1,1.5\r\ns2,x,2\r\n,3,3\r\n\r\ns3,4,NaN\r\ns4,5\r\ns5,6,7\r\n";
    let out = run(&store, &db, "incoming/mixed rows.csv", body).await.expect("ok");
    assert_eq!((out.rows_read, out.rows_written, out.rows_rejected), (6, 2, 4));
    assert_eq!(out.rejected_key.as_deref(), Some("rejected/mixed rows.csv"));
    let report =
        String::from_utf8(store.get("sensor-archive", "rejected/mixed rows.csv").expect("report")).expect("utf8");
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "line,reason,row");
    assert_eq!(lines.len(), 5);
    assert!(
        lines[1].starts_with("2,") && lines[1].contains("not an integer") && lines[1].ends_with("\"s2,x,2\""),
        "{}",
        lines[1]
    );
    assert!(lines[2].starts_with("3,") && lines[2].contains("sensor_id is empty"));
    assert!(lines[3].starts_with("5,") && lines[3].contains("finite"), "a blank line still counts: {}", lines[3]);
    assert!(lines[4].starts_with("6,") && lines[4].contains("3 fields"));
}

#[tokio::test]
async fn processor_names_empty_binary_invalid_and_missing_files() {
    let (store, db) = (MemoryObjectStore::new(), table());
    assert_eq!(run(&store, &db, "incoming/empty.csv", b"").await.unwrap_err().name, "EmptyCsv");
    assert_eq!(
        run(&store, &db, "incoming/header.csv", b"sensor_id,timestamp,value\r\n").await.unwrap_err().name,
        "EmptyCsv"
    );
    let binary = run(&store, &db, "incoming/image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").await.unwrap_err();
    assert_eq!(binary.name, "InvalidCsv");
    assert!(binary.message.contains("not CSV text"));
    let latin1 = run(&store, &db, "incoming/latin1.csv", b"caf\xe9,1,2\nna\xefve,2,3\n").await.unwrap_err();
    assert_eq!(latin1.name, "InvalidCsv", "not UTF-8 text");
    assert!(latin1.message.contains("UTF-8") && latin1.message.contains("nothing was written"), "{}", latin1.message);
    let all_bad = run(
        &store,
        &db,
        "incoming/all-bad.csv",
        b"a,b,c
d,e,f
",
    )
    .await
    .unwrap_err();
    assert_eq!(all_bad.name, "InvalidCsv", "no valid row");
    assert!(store.get("sensor-archive", "rejected/all-bad.csv").is_some(), "the rows are still reported");
    let missing = process(&store, &db, &config(), input("incoming/none.csv")).await;
    assert_eq!(missing.unwrap_err().name, "ObjectNotFound");
    assert!(db.items("sensor_data").is_empty());
}

#[tokio::test]
async fn processor_batches_by_25_retries_unprocessed_and_keeps_the_last_row_per_key() {
    let (store, db) = (MemoryObjectStore::new(), table());
    let mut body = String::new();
    for i in 0..1000 {
        body.push_str(&format!("s{},{},{}\n", i % 7, i / 7, i));
    }
    body.push_str("s0,0,999999\n"); // a later row for an existing key
    db.leave_unprocessed(&[5, 3, 25]);
    let out = run(&store, &db, "incoming/big.csv", body.as_bytes()).await.expect("ok");
    assert_eq!(out.rows_read, 1001);
    assert_eq!(out.rows_read, out.rows_written + out.rows_superseded + out.rows_rejected);
    assert_eq!(db.items("sensor_data").len(), 1000, "one item per key");
    assert_eq!(value_of(&db, "s0", 0).as_deref(), Some("999999"), "the last row wins");
    assert!(db.batch_sizes().iter().all(|n| *n <= 25));

    // Processing the same file again leaves the table exactly as it was.
    let before = db.items("sensor_data");
    run(&store, &db, "incoming/big.csv", body.as_bytes()).await.expect("ok");
    assert_eq!(db.items("sensor_data"), before);
}

#[tokio::test]
async fn processor_gives_up_transiently_when_dynamodb_keeps_refusing() {
    let (store, db) = (MemoryObjectStore::new(), table());
    db.leave_unprocessed(&[1, 1, 1, 1, 1, 1, 1, 1]);
    let mut cfg = config();
    cfg.write_concurrency = 1;
    store.insert("sensor-uploads", "incoming/t.csv", b"s,1,1\n".to_vec());
    let err = process(&store, &db, &cfg, input("incoming/t.csv")).await.unwrap_err();
    assert_eq!(err.name, "TransientError");
    assert!(err.message.contains("unprocessed"));
}

#[tokio::test]
async fn processor_rejects_empty_names() {
    let (store, db) = (MemoryObjectStore::new(), table());
    let err =
        process(&store, &db, &config(), ProcessInput { bucket_name: String::new(), ..input("k") }).await.unwrap_err();
    assert_eq!(err.name, "InvalidInput");
}

fn move_input(key: &str, destination: Destination) -> MoveInput {
    MoveInput {
        bucket_name: "sensor-uploads".into(),
        object_key: key.into(),
        destination,
        e_tag: None,
        version_id: None,
    }
}

#[tokio::test]
async fn mover_moves_checks_and_is_safe_to_rerun() {
    let store = MemoryObjectStore::new();
    let key = "incoming/a b+c é.csv";
    store.insert("sensor-uploads", key, "s,1,1\n");
    let out = move_object(&store, "sensor-archive", move_input(key, Destination::Processed)).await.expect("moved");
    assert_eq!(out.key, "processed/a b+c é.csv");
    assert!(!out.already_moved);
    assert_eq!(store.get("sensor-archive", "processed/a b+c é.csv").as_deref(), Some(&b"s,1,1\n"[..]));
    assert!(store.head("sensor-uploads", key, None).await.expect("head").is_none());

    let again =
        move_object(&store, "sensor-archive", move_input(key, Destination::Processed)).await.expect("rerun succeeds");
    assert!(again.already_moved);

    let missing = move_object(&store, "sensor-archive", move_input("incoming/never.csv", Destination::Failed)).await;
    assert_eq!(missing.unwrap_err().name, "ObjectNotFound");
}

#[tokio::test]
async fn mover_after_a_failed_delete_finishes_the_job() {
    let store = MemoryObjectStore::new();
    store.insert("sensor-uploads", "incoming/x.csv", "1");
    store.insert("sensor-archive", "failed/x.csv", "1"); // an earlier run copied, then died
    let out =
        move_object(&store, "sensor-archive", move_input("incoming/x.csv", Destination::Failed)).await.expect("ok");
    assert_eq!(out.key, "failed/x.csv");
    assert!(store.get("sensor-uploads", "incoming/x.csv").is_none());
}

#[tokio::test]
async fn emailer_reports_success_and_failure() {
    let ses = RecordingEmailSender::new();
    let ok: ReportInput = serde_json::from_value(json!({
        "bucketName": "sensor-uploads", "objectKey": "incoming/a.csv",
        "processing": {"bucketName": "sensor-uploads", "objectKey": "incoming/a.csv", "rowsRead": 10, "rowsWritten": 7, "rowsSuperseded": 1, "rowsRejected": 2, "rejectedKey": "rejected/a.csv"},
        "moved": {"bucket": "sensor-archive", "key": "processed/a.csv"}
    }))
    .expect("input");
    send_report(&ses, "no-reply@example.com", "ops@example.com", "sensor-archive", ok).await.expect("sent");
    let failed: ReportInput = serde_json::from_value(json!({
        "bucketName": "sensor-uploads", "objectKey": "incoming/b.csv",
        "moved": {"bucket": "sensor-archive", "key": "failed/b.csv"},
        "error": {"Error": "EmptyCsv", "Cause": "{\"errorType\":\"EmptyCsv\",\"errorMessage\":\"incoming/b.csv has no data rows\"}"}
    }))
    .expect("input");
    send_report(&ses, "no-reply@example.com", "ops@example.com", "sensor-archive", failed).await.expect("sent");
    let sent = ses.sent();
    assert_eq!(sent[0].to, ["ops@example.com"]);
    assert_eq!(sent[0].subject, "Sensor upload processed: incoming/a.csv");
    for expected in [
        "Rows read:       10",
        "Rows written:    7",
        "Rows superseded: 1",
        "Rows rejected:   2",
        "s3://sensor-archive/rejected/a.csv",
        "s3://sensor-archive/processed/a.csv",
    ] {
        assert!(sent[0].text.contains(expected), "{expected} in {}", sent[0].text);
    }
    assert_eq!(sent[1].subject, "Sensor upload FAILED: incoming/b.csv");
    assert!(sent[1].text.contains("Error: EmptyCsv"));
    assert!(sent[1].text.contains("Cause: incoming/b.csv has no data rows"));
    assert!(sent[1].text.contains("s3://sensor-archive/failed/b.csv"));
}

#[tokio::test]
async fn line_numbers_hold_for_lf_files_and_a_last_line_without_newline() {
    let (store, db) = (MemoryObjectStore::new(), table());
    run(&store, &db, "incoming/lf.csv", b"a,1,1\n\nbad\nb,x,2").await.expect("ok");
    let report = String::from_utf8(store.get("sensor-archive", "rejected/lf.csv").expect("report")).expect("utf8");
    let numbers: Vec<&str> = report.lines().skip(1).map(|l| l.split(',').next().unwrap_or_default()).collect();
    assert_eq!(numbers, ["3", "4"]);
}

#[test]
fn the_example_events_match_the_handlers_inputs() {
    let read = |name: &str| -> serde_json::Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture exists")).expect("fixture is JSON")
    };
    let uploads = ingest::event::uploads(&read("ingest-starter.json")).expect("an S3 event");
    assert!(
        matches!(ingest::starter::decide(&uploads[0]), ingest::starter::Decision::Start { ref key, .. } if key == "incoming/sample readings.csv")
    );
    let _: ProcessInput = serde_json::from_value(read("csv-processor.json")).expect("processor input");
    let _: MoveInput = serde_json::from_value(read("file-mover.json")).expect("mover input");
    let _: ReportInput = serde_json::from_value(read("emailer.json")).expect("emailer input");
}
