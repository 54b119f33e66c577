"""csv-ingest end to end: the real function binaries under `local-lambda`, the real
state machine in sfn-local (virtual clock), S3, DynamoDB and SES in moto."""

import json
import urllib.parse
import uuid

import pytest
from boto3.dynamodb.types import TypeDeserializer

from conftest import LAMBDA, SENSOR_TABLE, TARGET_BUCKET, make_client, ses_messages, wait_for_execution

# These tests hand ingest-starter the events they need (redeliveries, races, EventBridge), so
# their uploads go to a bucket with no notification: in sensor-uploads every upload also
# starts the workflow by itself (S3 -> SQS -> pump), which test_front_doors.py covers.
SOURCE = "sensor-uploads-direct"
ARCHIVE = TARGET_BUCKET


@pytest.fixture(scope="module", autouse=True)
def source_bucket(s3):
    if SOURCE not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=SOURCE)
    return SOURCE


@pytest.fixture(scope="module")
def lambda_api():
    return make_client("lambda", LAMBDA)


def s3_event(key: str, sequencer: str, size: int = 1, event: str = "ObjectCreated:Put", etag: str = "") -> dict:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-21T10:00:00.000Z",
                "eventName": event,
                "userIdentity": {"principalId": "local"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "csv-upload",
                    "bucket": {"name": SOURCE, "ownerIdentity": {"principalId": "local"}, "arn": f"arn:aws:s3:::{SOURCE}"},
                    # S3 form-urlencodes keys in events: spaces as '+', the rest percent-encoded.
                    "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": size, "eTag": etag, "sequencer": sequencer},
                },
            }
        ]
    }


def invoke(lambda_api, function: str, payload: dict) -> dict:
    response = lambda_api.invoke(FunctionName=function, Payload=json.dumps(payload).encode())
    body = json.loads(response["Payload"].read() or b"null")
    assert "FunctionError" not in response, body
    return body


def upload_and_run(s3, sfn, lambda_api, key: str, body: bytes, timeout: float = 60.0) -> dict:
    etag = s3.put_object(Bucket=SOURCE, Key=key, Body=body)["ETag"].strip('"')
    started = invoke(lambda_api, "ingest-starter", s3_event(key, uuid.uuid4().hex, len(body), etag=etag))
    assert [s["objectKey"] for s in started["started"]] == [key], started
    return wait_for_execution(sfn, started["started"][0]["executionArn"], timeout)


def exists(s3, bucket: str, key: str) -> bool:
    return any(o["Key"] == key for o in s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", []))


def emails_about(key: str) -> list:
    return [m for m in ses_messages() if key in m["subject"]]


def items_for(dynamodb, sensor: str) -> list:
    pages = dynamodb.get_paginator("query").paginate(
        TableName=SENSOR_TABLE,
        KeyConditionExpression="sensor_id = :s",
        ExpressionAttributeValues={":s": {"S": sensor}},
    )
    des = TypeDeserializer()
    return [{k: des.deserialize(v) for k, v in item.items()} for page in pages for item in page["Items"]]


def test_a_good_file_lands_in_the_table_moves_and_is_reported(s3, sfn, dynamodb, lambda_api):
    run = uuid.uuid4().hex[:8]
    key = f"incoming/good-{run}.csv"
    body = f"sensor_id,timestamp,value\r\nt{run},1,20.5\r\nt{run},2,21.25\r\nu{run},1,-3\r\n".encode()
    described = upload_and_run(s3, sfn, lambda_api, key, body)
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["processing"]["counts"]["rowsWritten"] == 3
    assert output["moved"] == {"bucket": ARCHIVE, "key": f"processed/good-{run}.csv"}
    assert sorted((i["timestamp"], float(i["value"])) for i in items_for(dynamodb, f"t{run}")) == [(1, 20.5), (2, 21.25)]
    assert not exists(s3, SOURCE, key) and exists(s3, ARCHIVE, f"processed/good-{run}.csv")
    (mail,) = emails_about(key)
    assert mail["destinations"]["ToAddresses"] == ["ops@example.com"]
    assert "Rows written:    3" in mail["body"]
    # The report waited its ten minutes, in virtual time.
    assert (described["stopDate"] - described["startDate"]).total_seconds() >= 600


def test_bad_rows_are_reported_not_dropped(s3, sfn, dynamodb, lambda_api):
    run = uuid.uuid4().hex[:8]
    key = f"incoming/mixed-{run}.csv"
    body = f"b{run},1,1\nb{run},two,2\n,3,3\nb{run},4,NaN\nb{run},5,5\n".encode()
    described = upload_and_run(s3, sfn, lambda_api, key, body)
    assert described["status"] == "SUCCEEDED", described
    counts = json.loads(described["output"])["processing"]["counts"]
    assert (counts["rowsRead"], counts["rowsWritten"], counts["rowsRejected"]) == (5, 2, 3)
    assert counts["rejectedKey"] == f"rejected/mixed-{run}.csv"
    rejected = s3.get_object(Bucket=ARCHIVE, Key=counts["rejectedKey"])["Body"].read().decode().splitlines()
    assert rejected[0] == "line,reason,row"
    assert [line.split(",")[0] for line in rejected[1:]] == ["2", "3", "4"]
    assert len(items_for(dynamodb, f"b{run}")) == 2
    (mail,) = emails_about(key)
    assert f"rejected/mixed-{run}.csv" in mail["body"]


@pytest.mark.parametrize(
    "name,body,error",
    [
        ("empty", b"", "EmptyCsv"),
        ("header-only", b"sensor_id,timestamp,value\n", "EmptyCsv"),
        ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "InvalidCsv"),
    ],
)
def test_unusable_files_fail_move_to_failed_and_are_reported(s3, sfn, lambda_api, name, body, error):
    run = uuid.uuid4().hex[:8]
    key = f"incoming/{name}-{run}.csv"
    described = upload_and_run(s3, sfn, lambda_api, key, body)
    assert described["status"] == "FAILED"
    assert described["error"] == error
    assert exists(s3, ARCHIVE, f"failed/{name}-{run}.csv") and not exists(s3, SOURCE, key)
    (mail,) = emails_about(key)
    assert mail["subject"].startswith("Sensor upload FAILED")
    assert f"Error: {error}" in mail["body"]


def test_keys_with_spaces_plus_and_non_ascii_survive(s3, sfn, lambda_api):
    run = uuid.uuid4().hex[:8]
    key = f"incoming/Lab 7 – café+{run}.csv"
    described = upload_and_run(s3, sfn, lambda_api, key, f"k{run},1,1\n".encode())
    assert described["status"] == "SUCCEEDED", described
    assert exists(s3, ARCHIVE, f"processed/Lab 7 – café+{run}.csv")
    assert json.loads(described["input"])["objectKey"] == key


def test_a_redelivered_event_starts_nothing_new(s3, sfn, lambda_api):
    run = uuid.uuid4().hex[:8]
    key = f"incoming/twice-{run}.csv"
    s3.put_object(Bucket=SOURCE, Key=key, Body=f"d{run},1,1\n".encode())
    event = s3_event(key, f"seq-{run}")
    first = invoke(lambda_api, "ingest-starter", event)
    second = invoke(lambda_api, "ingest-starter", event)
    arn = first["started"][0]["executionArn"]
    assert second["started"][0]["executionArn"] == arn
    wait_for_execution(sfn, arn)
    third = invoke(lambda_api, "ingest-starter", event)
    assert third["started"][0] == {"objectKey": key, "executionArn": arn, "alreadyStarted": True}
    machine = arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
    names = [e["name"] for e in sfn.list_executions(stateMachineArn=machine, maxResults=1000)["executions"]]
    assert names.count(arn.rsplit(":", 1)[1]) == 1
    skipped = invoke(lambda_api, "ingest-starter", s3_event("incoming/readme.txt", "x"))
    assert skipped["started"] == [] and skipped["skipped"][0]["objectKey"] == "incoming/readme.txt"


def test_a_reupload_before_processing_is_not_processed_moved_or_deleted_by_the_old_execution(s3, sfn, lambda_api):
    run = uuid.uuid4().hex[:8]
    key = f"incoming/reupload-{run}.csv"
    first = s3.put_object(Bucket=SOURCE, Key=key, Body=f"r{run},1,1\n".encode())["ETag"].strip('"')
    s3.put_object(Bucket=SOURCE, Key=key, Body=f"r{run},1,2\nr{run},2,2\n".encode())
    started = invoke(lambda_api, "ingest-starter", s3_event(key, f"old-{run}", etag=first))
    described = wait_for_execution(sfn, started["started"][0]["executionArn"])
    assert described["status"] == "FAILED" and described["error"] == "ObjectChanged", described
    body = s3.get_object(Bucket=SOURCE, Key=key)["Body"].read().decode()
    assert body.count("\n") == 2, "the later upload is still in place for its own execution"
    assert not exists(s3, ARCHIVE, f"failed/reupload-{run}.csv")
    (mail,) = emails_about(key)
    assert "Error: ObjectChanged" in mail["body"]


def test_a_large_file_of_bad_rows_streams_its_report_and_moves_in_parts(s3, sfn, dynamodb, lambda_api):
    run = uuid.uuid4().hex[:8]
    key = f"incoming/large-{run}.csv"
    bad = f"l{run},not-a-time,{'9' * 880}\n".encode()
    body = f"l{run},1,1\n".encode() + bad * (12 * 1024 * 1024 // len(bad))
    described = upload_and_run(s3, sfn, lambda_api, key, body, timeout=120)
    assert described["status"] == "SUCCEEDED", described
    counts = json.loads(described["output"])["processing"]["counts"]
    assert counts["rowsWritten"] == 1 and counts["rowsRejected"] == counts["rowsRead"] - 1
    report = s3.get_object(Bucket=ARCHIVE, Key=counts["rejectedKey"])["Body"].read()
    assert report.count(b"\n") == counts["rowsRejected"] + 1, "every rejected row is in the report"
    assert len(report) > 8 * 1024 * 1024, "the report went up in more than one part"
    moved = s3.head_object(Bucket=ARCHIVE, Key=f"processed/large-{run}.csv")
    assert moved["ContentLength"] == len(body), "the multipart copy is whole"


def test_eventbridge_object_created_events_start_the_workflow(s3, sfn, lambda_api):
    run = uuid.uuid4().hex[:8]
    key = f"incoming/bridge {run}.csv"
    etag = s3.put_object(Bucket=SOURCE, Key=key, Body=f"e{run},1,1\n".encode())["ETag"].strip('"')
    event = {
        "version": "0", "detail-type": "Object Created", "source": "aws.s3", "account": "123456789012",
        "region": "us-east-1", "resources": [f"arn:aws:s3:::{SOURCE}"],
        "detail": {"version": "0", "bucket": {"name": SOURCE},
                   "object": {"key": key, "size": 9, "etag": etag, "sequencer": run}, "reason": "PutObject"},
    }
    started = invoke(lambda_api, "ingest-starter", event)
    described = wait_for_execution(sfn, started["started"][0]["executionArn"])
    assert described["status"] == "SUCCEEDED", described
    assert exists(s3, ARCHIVE, f"processed/bridge {run}.csv")
