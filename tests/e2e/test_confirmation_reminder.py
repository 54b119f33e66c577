"""confirmation-reminder end to end, through its front doors: `POST /register` and the link of
the e-mail (`GET /confirm`) over real HTTP on the local API gateway (API_PORT), which invokes
signup-register and signup-confirm under `local-lambda`; the state machine in sfn-local,
DynamoDB and SES in moto.

The day between sign-up and reminder needs the stack on a manual clock
(`SFN_LOCAL_CLOCK=manual make stack-up`): the tests act "during the day", then advance it.
On a virtual clock the tests that must act before the day is over are skipped."""

import json
import os
import pathlib
import re
import time
import urllib.parse
import uuid

import pytest

from conftest import ACCOUNT, API, CUSTOMERS_TABLE, SFN, http, http_json, ses_messages, wait_for_execution

DAY = 86_400
MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:confirmation-reminder"
LINK = re.compile(r"/confirm\?customerId=([0-9a-f]{32})&token=([A-Za-z0-9_-]+)")
LAMBDA_LOG = pathlib.Path(os.environ.get("STACK_STATE_DIR") or pathlib.Path(__file__).resolve().parents[2] / ".stack") / "lambda.log"



def clock_mode() -> str:
    return http_json(f"{SFN}/_sfn-local/clock")["mode"]


@pytest.fixture(scope="module")
def manual_clock():
    if clock_mode() != "manual":
        pytest.skip("acting during the day needs the stack on SFN_LOCAL_CLOCK=manual")


def answer(status: int, headers: dict, body: bytes) -> tuple:
    assert headers.get("Content-Type", headers.get("content-type", "")).startswith("application/json"), headers
    return status, json.loads(body)


def register(email: str, name: str = "Ana Łopez-O'Neil") -> tuple:
    body = json.dumps({"email": email, "name": name}).encode()
    return answer(*http("POST", "/register", body, {"content-type": "application/json"}))


def confirm(query: dict) -> tuple:
    return answer(*http("GET", f"/confirm?{urllib.parse.urlencode(query)}"))


def open_link(mail_body: str) -> tuple:
    """The confirmation link of an e-mail, opened as a browser would."""
    [url] = re.findall(r"https?://\S+/confirm\?\S+", mail_body)
    assert url.startswith(f"{API}/confirm?"), f"the link points at the local API: {url}"
    return answer(*http("GET", url))


def new_address(tag: str) -> str:
    """A fresh address whose domain is typed in capitals: mail goes to the lower-cased form."""
    return f"{tag}-{uuid.uuid4().hex[:10]}@Example.COM"


def normal(address: str) -> str:
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def messages_to(address: str) -> list:
    return [m for m in ses_messages() if address in m["destinations"]["ToAddresses"]]


def customer(dynamodb, customer_id: str) -> dict:
    item = dynamodb.get_item(TableName=CUSTOMERS_TABLE, Key={"customerId": {"S": customer_id}}, ConsistentRead=True)
    return {k: v.get("S") for k, v in item["Item"].items()}


def wait_in_the_day(sfn, arn: str, timeout: float = 30.0) -> None:
    """Until the execution waits out its day (advancing the clock before would be too soon)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        if any(e["type"] == "WaitStateEntered" for e in events):
            return
        time.sleep(0.05)
    raise AssertionError(f"{arn} never reached its Wait")


def advance_a_day() -> None:
    now = http_json(f"{SFN}/_sfn-local/clock", method="POST", body={"advanceSeconds": DAY})["now"]
    assert now.endswith("Z"), now


def registered(dynamodb, address: str) -> tuple:
    status, body = register(address)
    assert status == 201, body
    customer_id = body["customerId"]
    record = customer(dynamodb, customer_id)
    assert record["status"] == "PENDING" and record["email"] == normal(address)
    return customer_id, record


@pytest.mark.manual_clock
def test_a_customer_who_confirms_during_the_day_gets_no_reminder(manual_clock, dynamodb, sfn):
    address = new_address("confirms")
    customer_id, record = registered(dynamodb, address)
    wait_in_the_day(sfn, record["executionArn"])

    [confirmation] = messages_to(normal(address))
    assert confirmation["source"] == "no-reply@example.com"
    assert "Ana Łopez-O'Neil" in confirmation["body"]
    link_id, token = LINK.search(confirmation["body"]).groups()
    assert link_id == customer_id
    status, body = open_link(confirmation["body"])
    assert (status, body["status"]) == (200, "CONFIRMED"), body
    assert confirm({"customerId": link_id, "token": token})[0] == 200, "a second click is harmless"
    assert customer(dynamodb, customer_id)["status"] == "CONFIRMED"
    assert sfn.describe_execution(executionArn=record["executionArn"])["status"] == "RUNNING", "the day is not over"

    advance_a_day()
    described = wait_for_execution(sfn, record["executionArn"])
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"reminded": False, "reason": "confirmed"}
    assert len(messages_to(normal(address))) == 1, "no reminder"


@pytest.mark.manual_clock
def test_a_customer_who_does_not_confirm_is_reminded_a_day_later(dynamodb, sfn):
    address = new_address("forgets")
    customer_id, record = registered(dynamodb, address)
    arn = record["executionArn"]
    name = arn.rsplit(":", 1)[1]
    assert re.fullmatch(f"{customer_id}_{record['traceId']}", name), "<customerId>_<uuid>"
    assert json.loads(sfn.describe_execution(executionArn=arn)["input"]) == {
        "customerId": customer_id, "traceId": record["traceId"]}
    if clock_mode() == "manual":
        wait_in_the_day(sfn, arn)
        assert len(messages_to(normal(address))) == 1, "only the confirmation during the day"
        advance_a_day()

    described = wait_for_execution(sfn, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"reminded": True}
    confirmation, reminder = messages_to(normal(address))
    assert reminder["subject"].startswith("Reminder")
    assert LINK.search(reminder["body"]).groups() == LINK.search(confirmation["body"]).groups(), "the same link"
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    entered = next(e for e in history if e["type"] == "WaitStateEntered")["timestamp"]
    exited = next(e for e in history if e["type"] == "WaitStateExited")["timestamp"]
    assert (exited - entered).total_seconds() >= DAY, "the reminder came a day later"


def test_a_second_registration_is_409_also_with_the_domain_in_capitals(dynamodb, sfn):
    local = f"dup-{uuid.uuid4().hex[:10]}"
    customer_id, _ = registered(dynamodb, f"{local}@example.com")
    for again in (f"{local}@example.com", f"{local}@EXAMPLE.COM", f"{local}@Example.Com"):
        status, body = register(again, "Someone Else")
        assert (status, body["message"]) == (409, "this e-mail address is already registered"), again
    confirmations = [m for m in messages_to(f"{local}@example.com") if not m["subject"].startswith("Reminder")]
    assert len(confirmations) == 1, "one confirmation (on a virtual clock the reminder may be out already)"
    executions = sfn.list_executions(stateMachineArn=MACHINE, maxResults=1000)["executions"]
    assert len([e for e in executions if e["name"].startswith(f"{customer_id}_")]) == 1
    assert register(f"{local.upper()}@example.com")[0] == 201, "the local part is kept as typed"


def test_a_wrong_token_is_403_and_the_customer_stays_pending(dynamodb):
    address = new_address("wrong")
    customer_id, record = registered(dynamodb, address)
    for token in ("guess", record["token"][:-1], record["token"] + "A"):
        status, body = confirm({"customerId": customer_id, "token": token})
        assert status == 403 and "not valid" in body["message"], body
    assert customer(dynamodb, customer_id)["status"] == "PENDING"
    assert confirm({"customerId": "0" * 32, "token": "x"})[0] == 404
    status, body = confirm({"customerId": customer_id})
    assert status == 400 and "token" in body["message"]


def test_bad_registrations_are_400_naming_the_field():
    status, body = register("a@example.com\r\nBcc: victim@example.com")
    assert (status, body["message"]) == (400, "email contains a control character (such as a line break)")
    status, body = register(new_address("long"), "x" * 10_000)
    assert (status, body["message"]) == (400, "name is longer than 200 characters")
    status, body = answer(*http("POST", "/register", b"{not json", {"content-type": "application/json"}))
    assert status == 400 and body["message"].startswith("the body is not JSON")


def test_no_log_line_holds_an_address_or_a_token(dynamodb):
    if not LAMBDA_LOG.exists():
        pytest.skip(f"no {LAMBDA_LOG}: the stack was not started by scripts/stack.sh")
    address = new_address("private")
    customer_id, record = registered(dynamodb, address)
    time.sleep(0.5)
    log = LAMBDA_LOG.read_text(errors="replace")
    assert record["traceId"] in log, "the registration's lines carry its trace id"
    for secret in (address.split("@")[0], record["token"], customer_id):
        assert secret not in log, f"{secret} in {LAMBDA_LOG}"
