"""friday-reminder end to end: friday-api, friday-checker and friday-notifier under
`cargo lambda watch`, the state machine in sfn-local (virtual clock), the push recorded
by the local Pinpoint endpoint."""

import datetime as dt
import json
import uuid
from zoneinfo import ZoneInfo

import pytest

from conftest import LAMBDA, PINPOINT, http_json, make_client, wait_for_execution

ZONES = ["Pacific/Kiritimati", "Asia/Tokyo", "Europe/London", "America/Los_Angeles", "Pacific/Pago_Pago"]


@pytest.fixture(scope="module")
def lambda_api():
    return make_client("lambda", LAMBDA)


def put_user(dynamodb, user_id: str, zone: str, hour: int, devices: list) -> None:
    dynamodb.put_item(
        TableName="users",
        Item={
            "userId": {"S": user_id},
            "timezone": {"S": zone},
            "notifyHour": {"N": str(hour)},
            "devices": {"L": [{"M": {"token": {"S": t}, "platform": {"S": p}}} for t, p in devices]},
        },
    )


def get_friday(lambda_api, query: dict) -> tuple:
    event = {
        "version": "2.0",
        "routeKey": "GET /friday",
        "rawPath": "/friday",
        "rawQueryString": "&".join(f"{k}={v}" for k, v in query.items()),
        "headers": {"accept": "application/json"},
        "queryStringParameters": query or None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": "GET", "path": "/friday", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "e2e"},
            "requestId": uuid.uuid4().hex, "routeKey": "GET /friday", "stage": "$default",
            "time": "21/Nov/2026:10:00:00 +0000", "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }
    response = lambda_api.invoke(FunctionName="friday-api", Payload=json.dumps(event).encode())
    answer = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, answer
    return answer["statusCode"], json.loads(answer["body"])


def zone_where(friday: bool) -> str | None:
    now = dt.datetime.now(dt.timezone.utc)
    for zone in ZONES:
        if (now.astimezone(ZoneInfo(zone)).weekday() == 4) == friday:
            return zone
    return None


def test_a_reminder_is_scheduled_waited_for_and_pushed(dynamodb, sfn, lambda_api):
    zone = zone_where(friday=False)
    assert zone, "at any instant some zone of the list is not on a Friday"
    user = f"user-{uuid.uuid4().hex[:8]}"
    put_user(dynamodb, user, zone, 7, [(f"apns-{user}", "APNS"), (f"gcm-{user}", "GCM")])
    http_json(f"{PINPOINT}/_local/messages", method="DELETE")

    status, body = get_friday(lambda_api, {"userId": user})
    assert status == 202, body
    assert body["friday"] is False and body["timezone"] == zone
    remind_at = dt.datetime.fromisoformat(body["remindAt"].replace("Z", "+00:00"))
    local = remind_at.astimezone(ZoneInfo(zone))
    assert (local.weekday(), local.hour) == (4, 7), f"{body['remindAt']} is Friday 07:00 in {zone}"

    again_status, again = get_friday(lambda_api, {"userId": user})
    assert again_status == 202 and again["executionArn"] == body["executionArn"], "one reminder per user and Friday"

    described = wait_for_execution(sfn, body["executionArn"])
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["notification"]["delivered"] == 2
    history = sfn.get_execution_history(executionArn=body["executionArn"], maxResults=1000)["events"]
    waited = next(e for e in history if e["type"] == "WaitStateExited")
    assert waited["timestamp"] >= remind_at - dt.timedelta(seconds=1), "the wait lasted until Friday (virtual time)"

    recorded = [m for m in http_json(f"{PINPOINT}/_local/messages") if f"apns-{user}" in m["request"]["Addresses"]]
    assert len(recorded) == 1
    request = recorded[0]["request"]
    assert recorded[0]["applicationId"] == "local-app"
    assert request["Addresses"] == {f"apns-{user}": {"ChannelType": "APNS"}, f"gcm-{user}": {"ChannelType": "GCM"}}
    assert request["MessageConfiguration"]["APNSMessage"]["Title"] == "It's Friday!"
    assert request["MessageConfiguration"]["GCMMessage"]["Title"] == "It's Friday!"


def test_a_user_without_devices_fails_cleanly_with_no_device_registered(dynamodb, sfn, lambda_api):
    zone = zone_where(friday=False)
    user = f"nodev-{uuid.uuid4().hex[:8]}"
    put_user(dynamodb, user, zone, 9, [])
    status, body = get_friday(lambda_api, {"userId": user})
    assert status == 202, body
    described = wait_for_execution(sfn, body["executionArn"])
    assert described["status"] == "FAILED"
    assert described["error"] == "NoDeviceRegistered"


def test_friday_and_bad_requests(dynamodb, lambda_api):
    zone = zone_where(friday=True)
    if zone is not None:
        user = f"fri-{uuid.uuid4().hex[:8]}"
        put_user(dynamodb, user, zone, 9, [("t", "APNS")])
        status, body = get_friday(lambda_api, {"userId": user})
        assert (status, body["friday"], body["today"]) == (200, True, "Friday")
    assert get_friday(lambda_api, {})[0] == 400
    assert get_friday(lambda_api, {"userId": "not valid!"})[0] == 400
    status, body = get_friday(lambda_api, {"userId": f"ghost-{uuid.uuid4().hex[:6]}"})
    assert status == 404 and "message" in body
