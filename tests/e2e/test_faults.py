"""Injected faults (scripts/fault_proxy.py, between the functions and moto and between sfn-local
and the Lambda emulator): each workflow retries and completes, or fails with its named error
through its failure path, and nothing is lost or written twice (items counted, files and
e-mails checked)."""

import json
import os
import time
import uuid
from urllib.parse import unquote_plus

import pytest

from conftest import MOTO, SOURCE_BUCKET, http_json, make_client
from test_front_doors import executions_for
from test_csv_ingest import ARCHIVE, emails_about, exists, items_for, lambda_api, source_bucket, upload_and_run  # noqa: F401

MOTO_FAULTS = f"http://127.0.0.1:{os.environ.get('FAULT_MOTO_PORT', int(os.environ.get('MOTO_PORT', '4566')) + 1)}"
LAMBDA_FAULTS = f"http://127.0.0.1:{os.environ.get('FAULT_LAMBDA_PORT', int(os.environ.get('LAMBDA_PORT', '9000')) + 1)}"

pytestmark = pytest.mark.faults

DYNAMODB_JSON = {"content-type": "application/x-amz-json-1.0"}
THROUGHPUT = {"status": 400, "headers": DYNAMODB_JSON, "body": json.dumps({
    "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "message": "The level of configured provisioned throughput for the table was exceeded."})}
THROTTLING = {"status": 400, "headers": DYNAMODB_JSON, "body": json.dumps({
    "__type": "com.amazon.coral.availability#ThrottlingException", "message": "Rate of requests exceeds the allowed throughput."})}
S3_SLOW_DOWN = {"status": 503, "headers": {"content-type": "application/xml"}, "body":
                "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"}
SES_THROTTLED = {"status": 429, "headers": {"content-type": "application/json", "x-amzn-ErrorType": "TooManyRequestsException"},
                 "body": json.dumps({"message": "Maximum sending rate exceeded."})}
SES_DOWN = {"status": 500, "headers": {"content-type": "application/json", "x-amzn-ErrorType": "InternalFailure"},
            "body": json.dumps({"message": "We encountered an internal error."})}


def arm(proxy: str, *rules: dict) -> None:
    http_json(f"{proxy}/_faults", method="POST", body={"rules": list(rules)})


def fired(proxy: str) -> dict:
    return {rule["name"]: rule["fired"] for rule in http_json(f"{proxy}/_faults")["rules"]}


@pytest.fixture(autouse=True)
def no_faults_after():
    yield
    for proxy in (MOTO_FAULTS, LAMBDA_FAULTS):
        http_json(f"{proxy}/_faults", method="DELETE")


def readings(sensor: str, rows: int) -> bytes:
    return ("sensor_id,timestamp,value\n" + "".join(f"{sensor},{t},{t / 10}\n" for t in range(rows))).encode()


def ingest(s3, sfn, lambda_api, tag: str, rows: int) -> tuple[str, str, dict]:
    sensor = f"{tag}-{uuid.uuid4().hex[:8]}"
    key = f"incoming/{sensor}.csv"
    return sensor, key, upload_and_run(s3, sfn, lambda_api, key, readings(sensor, rows), timeout=120)


def assert_ingested_once(s3, dynamodb, sensor: str, key: str, rows: int, described: dict) -> None:
    assert described["status"] == "SUCCEEDED", described
    counts = json.loads(described["output"])["processing"]["counts"]
    assert counts["rowsRead"] == rows and counts["rowsRejected"] == 0, counts
    assert sorted(item["timestamp"] for item in items_for(dynamodb, sensor)) == list(range(rows)), "every row, once"
    assert exists(s3, ARCHIVE, f"processed/{sensor}.csv")
    assert len(emails_about(key)) == 1, "one report"


def retried(sfn, arn: str) -> list[str]:
    """The errors of the task attempts that failed and were retried."""
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["lambdaFunctionFailedEventDetails"]["error"] for e in events if e["type"] == "LambdaFunctionFailed"] + [
        e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]


@pytest.mark.parametrize("answer", [THROUGHPUT, THROTTLING], ids=["ProvisionedThroughputExceeded", "Throttling"])
def test_dynamodb_throttling_is_retried_and_every_row_lands_once(s3, sfn, dynamodb, lambda_api, answer):
    # Ten refusals in a row: more than the SDK's own three attempts; csv-processor's writer backs
    # off and tries again itself.
    arm(MOTO_FAULTS, {"name": "batch", "match": {"target": "BatchWriteItem"}, "fault": {"respond": answer}, "times": 10})
    sensor, key, described = ingest(s3, sfn, lambda_api, "throttled", 2_000)
    assert fired(MOTO_FAULTS)["batch"] == 10
    assert_ingested_once(s3, dynamodb, sensor, key, 2_000, described)


def test_unprocessed_items_are_written_later_not_lost(s3, sfn, dynamodb, lambda_api):
    arm(MOTO_FAULTS, {"name": "half", "match": {"target": "BatchWriteItem"}, "fault": {"unprocessed": 0.5}, "times": 20},
        {"name": "none", "match": {"target": "BatchWriteItem"}, "fault": {"unprocessed": 0.0}, "times": 5})
    sensor, key, described = ingest(s3, sfn, lambda_api, "unprocessed", 3_000)
    assert fired(MOTO_FAULTS)["half"] == 20
    assert_ingested_once(s3, dynamodb, sensor, key, 3_000, described)


def test_a_get_object_cut_mid_stream_is_read_again_whole(s3, sfn, dynamodb, lambda_api):
    arm(MOTO_FAULTS, {"name": "cut", "match": {"method": "GET", "path": r"^/sensor-uploads-direct/incoming/cut-"},
                      "fault": {"cut_after": 20_000}, "times": 1})
    sensor, key, described = ingest(s3, sfn, lambda_api, "cut", 5_000)
    assert fired(MOTO_FAULTS)["cut"] == 1
    assert retried(sfn, described["executionArn"]) == ["TransientError"], "the broken read is retried by the state machine"
    assert_ingested_once(s3, dynamodb, sensor, key, 5_000, described)


def test_a_copy_that_fails_is_retried_and_the_file_moves_once(s3, sfn, dynamodb, lambda_api):
    arm(MOTO_FAULTS, {"name": "copy", "match": {"method": "PUT", "header": "x-amz-copy-source", "path": r"/processed/copied-"},
                      "fault": {"respond": S3_SLOW_DOWN}, "times": 4})
    sensor, key, described = ingest(s3, sfn, lambda_api, "copied", 100)
    assert fired(MOTO_FAULTS)["copy"] == 4
    assert_ingested_once(s3, dynamodb, sensor, key, 100, described)
    assert not exists(s3, "sensor-uploads-direct", key), "the upload is gone from incoming/"


def test_ses_throttled_sends_the_report_once_when_it_recovers(s3, sfn, dynamodb, lambda_api):
    arm(MOTO_FAULTS, {"name": "ses", "match": {"method": "POST", "path": r"^/v2/email/outbound-emails"},
                      "fault": {"respond": SES_THROTTLED}, "times": 4})
    sensor, key, described = ingest(s3, sfn, lambda_api, "mailslow", 10)
    assert fired(MOTO_FAULTS)["ses"] == 4
    assert "TransientError" in retried(sfn, described["executionArn"])
    assert_ingested_once(s3, dynamodb, sensor, key, 10, described)


def test_ses_down_fails_the_execution_with_its_named_error_after_the_retries(s3, sfn, dynamodb, lambda_api):
    arm(MOTO_FAULTS, {"name": "ses", "match": {"method": "POST", "path": r"^/v2/email/outbound-emails"},
                      "fault": {"respond": SES_DOWN}, "times": -1})
    sensor, key, described = ingest(s3, sfn, lambda_api, "maildown", 10)
    assert (described["status"], described.get("error")) == ("FAILED", "TransientError"), described
    assert len(items_for(dynamodb, sensor)) == 10, "the data is in, only the report is missing"
    assert exists(s3, ARCHIVE, f"processed/{sensor}.csv")
    assert emails_about(key) == []


def test_an_emailer_past_its_timeout_fails_the_execution_as_sandbox_timedout_and_never_mails_twice(
        s3, sfn, dynamodb, lambda_api):
    """SES answers after 12 s, past the emailer's 10 s Timeout (the template's default): Lambda
    stops the function and writes Sandbox.Timedout. SendReport does not retry it, since the
    e-mail may already be on its way; the execution fails under that name, the data is in."""
    arm(MOTO_FAULTS, {"name": "ses-slow", "match": {"method": "POST", "path": r"^/v2/email/outbound-emails"},
                      "fault": {"delay": 12.0}, "times": 1})
    sensor, key, described = ingest(s3, sfn, lambda_api, "mailtimeout", 10)
    assert (described["status"], described.get("error")) == ("FAILED", "Sandbox.Timedout"), described
    assert "Error: Task timed out after 10.00 seconds" in described["cause"], described["cause"]
    assert retried(sfn, described["executionArn"]) == ["Sandbox.Timedout"], "one attempt, not retried"
    assert len(items_for(dynamodb, sensor)) == 10, "the data is in, only the report is in doubt"
    assert exists(s3, ARCHIVE, f"processed/{sensor}.csv")
    time.sleep(3)  # the delayed send reaches the emulator after the function is gone
    assert fired(MOTO_FAULTS)["ses-slow"] == 1
    assert len(emails_about(key)) <= 1, "never mailed twice"


@pytest.mark.parametrize("fault", [
    {"respond": {"status": 500, "headers": {"content-type": "application/json", "x-amzn-ErrorType": "ServiceException"},
                 "body": json.dumps({"message": "injected: the Lambda service failed"})}},
    {"respond": {"status": 429, "headers": {"content-type": "application/json", "x-amzn-ErrorType": "TooManyRequestsException"},
                 "body": json.dumps({"message": "Rate exceeded", "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"})}},
    {"respond": {"status": 200, "headers": {"content-type": "application/json", "X-Amz-Function-Error": "Unhandled"},
                 "body": json.dumps({"errorType": "TransientError", "errorMessage": "injected function error"})}},
], ids=["service-error", "throttled", "function-error"])
def test_a_failing_lambda_endpoint_is_retried_by_the_state_machine(s3, sfn, dynamodb, lambda_api, fault):
    arm(LAMBDA_FAULTS, {"name": "invoke", "match": {"method": "POST", "path": r"/functions/[^/]*file-mover[^/]*/invocations"},
                        "fault": fault, "times": 2})
    sensor, key, described = ingest(s3, sfn, lambda_api, "lambdafault", 50)
    assert fired(LAMBDA_FAULTS)["invoke"] == 2
    assert len(retried(sfn, described["executionArn"])) == 2
    assert_ingested_once(s3, dynamodb, sensor, key, 50, described)


def test_an_upload_whose_starter_keeps_failing_is_retried_then_kept_on_the_failed_events_queue(s3, sfn):
    """The pump's twin of Lambda's asynchronous retries and on-failure destination: three
    attempts, then the record Lambda writes, with the S3 event as delivered; no execution."""
    sqs = make_client("sqs", MOTO)
    failed_queue = sqs.get_queue_url(QueueName="ingest-starter-failed-events")["QueueUrl"]
    key = f"incoming/starter-down-{uuid.uuid4().hex[:8]}.csv"
    error = {"errorType": "TransientError", "errorMessage": "the starter is down"}
    arm(LAMBDA_FAULTS, {"name": "starter-down", "match": {"method": "POST", "path": "/functions/ingest-starter/invocations$"},
                        "times": 3, "fault": {"respond": {"status": 200, "body": json.dumps(error), "headers": {
                            "content-type": "application/json", "X-Amz-Function-Error": "Unhandled"}}}})
    s3.put_object(Bucket=SOURCE_BUCKET, Key=key, Body=b"sensor_id,timestamp,value\n")
    record = None
    deadline = time.monotonic() + 60
    while record is None and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=failed_queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(message["Body"])
            if unquote_plus(body["requestPayload"]["Records"][0]["s3"]["object"]["key"]) == key:
                record = body
                sqs.delete_message(QueueUrl=failed_queue, ReceiptHandle=message["ReceiptHandle"])
    assert record is not None, f"no failure record for {key} on the failed-events queue"
    assert fired(LAMBDA_FAULTS) == {"starter-down": 3}
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"] == error
    assert executions_for(sfn, key) == [], "a failed start starts nothing"
