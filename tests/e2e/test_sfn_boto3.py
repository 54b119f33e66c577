"""boto3, unchanged, against the stack's `sfn-local serve` (a real process on 127.0.0.1:8083)."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, SFN, http_json, wait_for_execution

ROLE = f"arn:aws:iam::{ACCOUNT}:role/e2e"

DEFINITION = {
    "Comment": "a day's wait, a Map and a Choice",
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Pass",
            "Parameters": {"items.$": "States.ArrayRange(1, 5, 1)", "who.$": "$.who"},
            "Next": "WaitADay",
        },
        "WaitADay": {"Type": "Wait", "Seconds": 86400, "Next": "Square"},
        "Square": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Double",
                "States": {"Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($, $)"}, "End": True}},
            },
            "ResultPath": "$.doubled",
            "Next": "Decide",
        },
        "Decide": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.who", "StringEquals": "fail", "Next": "Refuse"}],
            "Default": "Done",
        },
        "Refuse": {"Type": "Fail", "Error": "Refused", "Cause": "asked to fail"},
        "Done": {"Type": "Succeed"},
    },
}


@pytest.fixture(scope="module")
def machine_arn(sfn):
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    arn = sfn.create_state_machine(name=name, definition=json.dumps(DEFINITION), roleArn=ROLE)["stateMachineArn"]
    yield arn
    sfn.delete_state_machine(stateMachineArn=arn)


def test_runs_to_success_with_a_virtual_day(sfn, machine_arn):
    wall = time.monotonic()
    arn = sfn.start_execution(stateMachineArn=machine_arn, input=json.dumps({"who": "ann"}))["executionArn"]
    described = wait_for_execution(sfn, arn)
    elapsed = time.monotonic() - wall
    assert described["status"] == "SUCCEEDED", described
    assert elapsed < 1.0, f"a virtual day took {elapsed:.3f} s of wall time"
    output = json.loads(described["output"])
    assert output["doubled"] == [{"n": 2}, {"n": 4}, {"n": 6}, {"n": 8}, {"n": 10}]
    assert (described["stopDate"] - described["startDate"]).total_seconds() >= 86400


def test_failure_and_history(sfn, machine_arn):
    arn = sfn.start_execution(stateMachineArn=machine_arn, name="asked-to-fail", input=json.dumps({"who": "fail"}))[
        "executionArn"
    ]
    described = wait_for_execution(sfn, arn)
    assert described["status"] == "FAILED"
    assert described["error"] == "Refused"
    assert described["cause"] == "asked to fail"

    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    types = [e["type"] for e in events]
    assert types[0] == "ExecutionStarted"
    assert types[-1] == "ExecutionFailed"
    for expected in ["WaitStateEntered", "MapStateStarted", "MapIterationSucceeded", "ChoiceStateExited", "FailStateEntered"]:
        assert expected in types
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    entered = next(e for e in events if e["type"] == "WaitStateEntered")
    exited = next(e for e in events if e["type"] == "WaitStateExited")
    # As on AWS, the Wait lasts its 86,400 s plus the milliseconds the engine itself takes.
    waited = (exited["timestamp"] - entered["timestamp"]).total_seconds()
    assert 86400 <= waited < 86401, waited

    page = sfn.get_execution_history(executionArn=arn, maxResults=3, reverseOrder=True)
    assert [e["type"] for e in page["events"]][0] == "ExecutionFailed"
    assert "nextToken" in page

    listed = sfn.list_executions(stateMachineArn=machine_arn, statusFilter="FAILED")["executions"]
    assert [e["name"] for e in listed] == ["asked-to-fail"]


def test_aws_error_codes(sfn, machine_arn):
    with pytest.raises(ClientError) as invalid:
        sfn.create_state_machine(name="broken", definition='{"StartAt":"Nowhere","States":{}}', roleArn=ROLE)
    assert invalid.value.response["Error"]["Code"] == "InvalidDefinition"

    with pytest.raises(ClientError) as missing:
        sfn.describe_state_machine(stateMachineArn=f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:ghost")
    assert missing.value.response["Error"]["Code"] == "StateMachineDoesNotExist"

    sfn.start_execution(stateMachineArn=machine_arn, name="unique", input="{}")
    with pytest.raises(ClientError) as exists:
        sfn.start_execution(stateMachineArn=machine_arn, name="unique", input='{"other": 1}')
    assert exists.value.response["Error"]["Code"] == "ExecutionAlreadyExists"

    with pytest.raises(ClientError) as arn_error:
        sfn.describe_execution(executionArn="not-an-arn")
    assert arn_error.value.response["Error"]["Code"] == "InvalidArn"


def test_clock_admin_endpoint_reports_the_mode():
    clock = http_json(f"{SFN}/_sfn-local/clock")
    assert clock["mode"] in ("virtual", "manual", "real")
    assert clock["now"].endswith("Z") and "T" in clock["now"]
