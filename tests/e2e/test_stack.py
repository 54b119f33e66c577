"""The local stack is up, provisioned as DESIGN.md says, and speaks the AWS APIs."""

import urllib.error
import urllib.request

from conftest import COURSES_TABLE, CUSTOMERS_TABLE, ENROLLMENTS_TABLE, LAMBDA, PAYMENTS_TABLE, PINPOINT, SENSOR_TABLE, SOURCE_BUCKET, STUDENTS_TABLE, TARGET_BUCKET, USERS_TABLE, http_json, ses_messages


def test_buckets_and_tables_are_provisioned(s3, dynamodb):
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {SOURCE_BUCKET, TARGET_BUCKET} <= buckets
    sensor = dynamodb.describe_table(TableName=SENSOR_TABLE)["Table"]
    assert [(k["AttributeName"], k["KeyType"]) for k in sensor["KeySchema"]] == [("sensor_id", "HASH"), ("timestamp", "RANGE")]
    enrollments = dynamodb.describe_table(TableName=ENROLLMENTS_TABLE)["Table"]
    assert [k["AttributeName"] for k in enrollments["KeySchema"]] == ["courseId", "email"]
    for table in [USERS_TABLE, CUSTOMERS_TABLE, STUDENTS_TABLE, COURSES_TABLE, PAYMENTS_TABLE]:
        assert dynamodb.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"


def test_ses_identities_are_verified_and_mail_is_recorded(ses):
    assert {"no-reply@example.com", "ops@example.com"} <= set(ses.list_identities()["Identities"])
    ses.send_email(
        Source="no-reply@example.com",
        Destination={"ToAddresses": ["ops@example.com"]},
        Message={"Subject": {"Data": "stack check"}, "Body": {"Text": {"Data": "hello"}}},
    )
    sent = ses_messages()
    assert any(m["subject"] == "stack check" for m in sent)


def test_local_pinpoint_answers_boto3(pinpoint):
    http_json(f"{PINPOINT}/_local/messages", method="DELETE")
    response = pinpoint.send_messages(
        ApplicationId="local-app",
        MessageRequest={
            "Addresses": {"device-1": {"ChannelType": "APNS"}, "invalid-2": {"ChannelType": "GCM"}},
            "MessageConfiguration": {"APNSMessage": {"Title": "Friday", "Body": "It is Friday"}},
        },
    )
    results = response["MessageResponse"]["Result"]
    assert results["device-1"]["DeliveryStatus"] == "SUCCESSFUL"
    assert results["invalid-2"]["DeliveryStatus"] == "PERMANENT_FAILURE"
    recorded = http_json(f"{PINPOINT}/_local/messages")
    assert recorded[-1]["request"]["MessageConfiguration"]["APNSMessage"]["Title"] == "Friday"


def test_lambda_emulator_serves_the_invoke_api():
    request = urllib.request.Request(
        f"{LAMBDA}/2015-03-31/functions/no-such-function/invocations", data=b"{}", method="POST"
    )
    try:
        urllib.request.urlopen(request, timeout=10)
        status = 200
    except urllib.error.HTTPError as error:
        status = error.code
    assert status != 200, "an unknown function is refused"
    assert status < 600
