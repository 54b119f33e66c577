//! csv-ingest against what goes wrong in production: re-uploads during a retry, rows
//! DynamoDB refuses, S3 refusing for reasons other than absence, events from other
//! sources, files full of bad rows.

use std::time::Duration;

use common::PortError;
use common::ports::memory::{MemoryItemStore, MemoryObjectStore, MemoryWorkflowStarter};
use common::ports::{AttrValue, MIN_PART_SIZE};
use ingest::mover::{Destination, MoveInput, move_object};
use ingest::processor::{ProcessInput, ProcessorConfig, process};
use ingest::starter::start_uploads;
use serde_json::json;

const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:csv-ingest";
const SOURCE: &str = "sensor-uploads";
const ARCHIVE: &str = "sensor-archive";

fn config() -> ProcessorConfig {
    ProcessorConfig {
        sensor_table: "sensor_data".into(),
        target_bucket: ARCHIVE.into(),
        write_concurrency: 3,
        max_write_attempts: 4,
        retry_base: Duration::from_millis(1),
        report_part_size: MIN_PART_SIZE,
    }
}

fn table() -> MemoryItemStore {
    MemoryItemStore::new().with_table("sensor_data", &["sensor_id", "timestamp"])
}

fn pinned(key: &str, e_tag: Option<String>, version_id: Option<String>) -> ProcessInput {
    ProcessInput { bucket_name: SOURCE.into(), object_key: key.into(), e_tag, version_id }
}

fn move_pinned(key: &str, e_tag: Option<String>, version_id: Option<String>) -> MoveInput {
    MoveInput {
        bucket_name: SOURCE.into(),
        object_key: key.into(),
        destination: Destination::Processed,
        e_tag,
        version_id,
    }
}

#[tokio::test]
async fn a_reupload_during_a_retry_is_not_processed_by_the_old_execution() {
    let (store, db) = (MemoryObjectStore::new(), table());
    let first = store.insert(SOURCE, "incoming/a.csv", "s,1,1\n");
    store.insert(SOURCE, "incoming/a.csv", "s,1,999\n"); // the re-upload has its own execution
    let err = process(&store, &db, &config(), pinned("incoming/a.csv", first.e_tag, None)).await.unwrap_err();
    assert_eq!(err.name, "ObjectChanged");
    assert!(db.items("sensor_data").is_empty(), "nothing written from the wrong object");
}

#[tokio::test]
async fn in_a_versioned_bucket_the_pinned_version_is_read_and_moved_and_the_new_upload_stays() {
    let (store, db) = (MemoryObjectStore::new(), table());
    store.enable_versioning(SOURCE);
    let first = store.insert(SOURCE, "incoming/v.csv", "s,1,1\n");
    store.insert(SOURCE, "incoming/v.csv", "s,1,2\n");
    let out = process(&store, &db, &config(), pinned("incoming/v.csv", first.e_tag.clone(), first.version_id.clone()))
        .await
        .expect("the pinned version is read");
    assert_eq!(out.rows_written, 1);
    let item = &db.items("sensor_data")[0];
    assert_eq!(item.get("value"), Some(&AttrValue::N("1".into())));
    move_object(&store, ARCHIVE, move_pinned("incoming/v.csv", first.e_tag, first.version_id)).await.expect("moved");
    assert_eq!(store.get(ARCHIVE, "processed/v.csv"), Some(b"s,1,1\n".to_vec()));
    assert_eq!(store.get(SOURCE, "incoming/v.csv"), Some(b"s,1,2\n".to_vec()), "the later upload is untouched");
}

#[tokio::test]
async fn the_mover_never_moves_or_deletes_a_later_upload_of_the_same_key() {
    let store = MemoryObjectStore::new();
    let first = store.insert(SOURCE, "incoming/m.csv", "old\n");
    store.insert(SOURCE, "incoming/m.csv", "new\n");
    let err = move_object(&store, ARCHIVE, move_pinned("incoming/m.csv", first.e_tag, None)).await.unwrap_err();
    assert_eq!(err.name, "ObjectChanged");
    assert_eq!(store.get(SOURCE, "incoming/m.csv"), Some(b"new\n".to_vec()));
    assert!(store.get(ARCHIVE, "processed/m.csv").is_none());
}

#[tokio::test]
async fn only_a_real_404_is_object_not_found_access_denied_is_a_storage_error() {
    let (store, db) = (MemoryObjectStore::new(), table());
    store.insert(SOURCE, "incoming/d.csv", "s,1,1\n");
    store.failures.push(PortError::Rejected { service: "s3", code: "AccessDenied".into(), message: "denied".into() });
    let err = process(&store, &db, &config(), pinned("incoming/d.csv", None, None)).await.unwrap_err();
    assert_eq!(err.name, "StorageError");
    assert!(err.message.contains("AccessDenied"), "{}", err.message);

    store.failures.push(PortError::Rejected {
        service: "s3",
        code: "KMS.DisabledException".into(),
        message: "k".into(),
    });
    let err = move_object(&store, ARCHIVE, move_pinned("incoming/d.csv", None, None)).await.unwrap_err();
    assert_eq!(err.name, "StorageError");
    assert!(err.message.contains("KMS.DisabledException"));
}

#[tokio::test]
async fn a_row_dynamodb_refuses_is_isolated_and_reported_while_the_rest_is_written() {
    let store = MemoryObjectStore::new();
    let db = table().refusing(|item| item.get("sensor_id") == Some(&AttrValue::string("poison")));
    let mut body = String::new();
    for i in 0..100 {
        body.push_str(&format!("s,{i},{i}\n"));
        if i == 57 {
            body.push_str("poison,1,1\n");
        }
    }
    store.insert(SOURCE, "incoming/p.csv", body);
    let out = process(&store, &db, &config(), pinned("incoming/p.csv", None, None)).await.expect("the file succeeds");
    assert_eq!((out.rows_read, out.rows_written, out.rows_rejected), (101, 100, 1));
    assert_eq!(db.items("sensor_data").len(), 100);
    let report = String::from_utf8(store.get(ARCHIVE, "rejected/p.csv").expect("report")).expect("utf8");
    let line = report.lines().nth(1).expect("one rejected row");
    assert!(line.starts_with("59,") && line.contains("DynamoDB refused the row"), "{line}");
}

#[tokio::test]
async fn rows_beyond_dynamodbs_limits_are_rejected_before_any_write() {
    let (store, db) = (MemoryObjectStore::new(), table());
    let body =
        format!("s,1,1\ns,2,1e126\n{},3,1\ns,4,1.234567890123456789012345678901234567890\ns,5,5\n", "x".repeat(2049));
    store.insert(SOURCE, "incoming/limits.csv", body);
    let out = process(&store, &db, &config(), pinned("incoming/limits.csv", None, None)).await.expect("ok");
    assert_eq!((out.rows_written, out.rows_rejected), (2, 3));
    let report = String::from_utf8(store.get(ARCHIVE, "rejected/limits.csv").expect("report")).expect("utf8");
    assert!(
        report.contains("number range") && report.contains("2048") && report.contains("38 significant"),
        "{report}"
    );
}

#[tokio::test]
async fn binary_lines_mid_file_are_rejected_rows_and_the_report_matches_the_table() {
    let (store, db) = (MemoryObjectStore::new(), table());
    let mut body = Vec::new();
    for i in 0..2000 {
        body.extend_from_slice(format!("s,{i},1\n").as_bytes());
    }
    body.extend_from_slice(b"\x00\x01\x02\xff,\x00,\x00\n");
    body.extend_from_slice(b"s,5000,1\n");
    store.insert(SOURCE, "incoming/bin.csv", body);
    let out = process(&store, &db, &config(), pinned("incoming/bin.csv", None, None)).await.expect("ok");
    assert_eq!((out.rows_read, out.rows_written, out.rows_rejected), (2002, 2001, 1));
    assert_eq!(db.items("sensor_data").len() as u64, out.rows_written);
}

#[tokio::test]
async fn superseded_rows_are_counted_apart_from_written_ones() {
    let (store, db) = (MemoryObjectStore::new(), table());
    store.insert(SOURCE, "incoming/dup.csv", "s,1,1\ns,1,2\ns,1,3\nt,1,1\n");
    let out = process(&store, &db, &config(), pinned("incoming/dup.csv", None, None)).await.expect("ok");
    assert_eq!((out.rows_read, out.rows_written, out.rows_superseded, out.rows_rejected), (4, 2, 2, 0));
    let json = serde_json::to_value(&out).expect("serialises");
    assert_eq!(json["rowsSuperseded"], 2);
}

#[tokio::test]
async fn a_file_of_many_bad_rows_streams_its_report_in_parts() {
    let (store, db) = (MemoryObjectStore::new(), table());
    let mut body = String::from("s,1,1\n");
    let bad = format!("s,not-a-number,{}\n", "v".repeat(100));
    while body.len() < 7 * 1024 * 1024 {
        body.push_str(&bad);
    }
    store.insert(SOURCE, "incoming/bad.csv", body.clone());
    let out = process(&store, &db, &config(), pinned("incoming/bad.csv", None, None)).await.expect("ok");
    let report = store.get(ARCHIVE, "rejected/bad.csv").expect("the report is complete");
    assert_eq!(report.iter().filter(|b| **b == b'\n').count() as u64, out.rows_rejected + 1);
    assert!(report.len() > MIN_PART_SIZE, "more than one part: {} bytes", report.len());
    assert_eq!(store.pending_uploads(), 0);
}

#[tokio::test]
async fn eventbridge_events_and_minimal_records_start_executions() {
    let sfn = MemoryWorkflowStarter::new();
    let bridge = json!({"detail-type": "Object Created", "source": "aws.s3",
        "detail": {"bucket": {"name": SOURCE}, "object": {"key": "incoming/eb.csv", "size": 3, "etag": "e", "sequencer": "1"},
                   "reason": "PutObject"}});
    let out = start_uploads(&sfn, ARN, &bridge).await.expect("started");
    assert_eq!(out.started.len(), 1);
    let minimal = json!({"Records": [{"eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": SOURCE}, "object": {"key": "incoming/min.csv"}}}]});
    assert_eq!(start_uploads(&sfn, ARN, &minimal).await.expect("started").started.len(), 1);
    let err = start_uploads(&sfn, ARN, &json!({"unexpected": true})).await.unwrap_err();
    assert_eq!(err.name, "InvalidInput");
}

#[tokio::test]
async fn a_null_version_id_does_not_merge_reuploads_into_one_execution() {
    let sfn = MemoryWorkflowStarter::new();
    let upload = |sequencer: &str, version: &str| {
        json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": SOURCE},
            "object": {"key": "incoming/r.csv", "size": 1, "eTag": "same", "versionId": version, "sequencer": sequencer}}}]})
    };
    let first = start_uploads(&sfn, ARN, &upload("01", "null")).await.expect("started");
    let second = start_uploads(&sfn, ARN, &upload("02", "null")).await.expect("started");
    assert_ne!(first.started[0].execution_arn, second.started[0].execution_arn);
    assert!(!second.started[0].already_started);
    let third = start_uploads(&sfn, ARN, &upload("03", "")).await.expect("started");
    assert!(!third.started[0].already_started);
    assert!(sfn.started().iter().all(|s| s.input["versionId"].is_null()), "no pseudo-version is pinned");

    let versioned = start_uploads(&sfn, ARN, &upload("04", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")).await.expect("ok");
    assert!(!versioned.started[0].already_started);
    assert_eq!(
        sfn.started().last().map(|s| s.input["versionId"].clone()),
        Some(json!("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"))
    );
}

#[tokio::test]
async fn a_copy_from_another_upload_is_not_taken_for_this_executions_move() {
    let store = MemoryObjectStore::new();
    store.insert(ARCHIVE, "processed/o.csv", "an older upload, moved long ago\n");
    let first = store.insert(SOURCE, "incoming/o.csv", "ours\n");
    store.insert(SOURCE, "incoming/o.csv", "a later upload\n");
    let err = move_object(&store, ARCHIVE, move_pinned("incoming/o.csv", first.e_tag, None)).await.unwrap_err();
    assert_eq!(err.name, "ObjectChanged", "not reported as already moved");
}
