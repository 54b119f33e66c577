"""The stack's front doors, as a user meets them: the HTTP API on API_PORT (the local gateway
serving infra/template.yaml's routes) over real HTTP, and an S3 upload that starts csv-ingest
with no hand-made event (moto's notification -> SQS -> the gateway's pump -> ingest-starter)."""

import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import MOTO, SENSOR_TABLE, SFN, SOURCE_BUCKET, USERS_TABLE, http, make_client, wait_for_execution

ROOT = pathlib.Path(__file__).resolve().parents[2]
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:csv-ingest"
SIGNUP_BUILT = (ROOT / "crates" / "signup" / "src" / "bin").is_dir()



def test_get_friday_over_real_http_reaches_friday_api(dynamodb):
    user = f"gw-{uuid.uuid4().hex[:8]}"
    dynamodb.put_item(TableName=USERS_TABLE, Item={"userId": {"S": user}, "timezone": {"S": "Asia/Tokyo"}, "notifyHour": {"N": "9"}})
    status, headers, body = http("GET", f"/friday?userId={user}")
    answer = json.loads(body)
    assert status in (200, 202), body
    assert isinstance(answer["friday"], bool)
    assert headers.get("apigw-requestid")
    assert headers.get("content-type", "").startswith("application/json")


def test_friday_api_answers_pass_through_with_their_status():
    status, _, body = http("GET", f"/friday?userId=nobody-{uuid.uuid4().hex[:6]}")
    assert status == 404 and "message" in json.loads(body)
    status, _, _ = http("GET", "/friday")
    assert status == 400


def test_an_unknown_route_is_api_gateways_404():
    for method, path in [("GET", "/nowhere"), ("DELETE", "/friday")]:
        status, _, body = http(method, path)
        assert (status, json.loads(body)) == (404, {"message": "Not Found"})


@pytest.mark.skipif(SIGNUP_BUILT, reason="signup's functions exist: their own tests cover POST /register")
def test_a_route_whose_function_is_not_built_is_api_gateways_500():
    status, _, body = http("POST", "/register", b'{"email":"a@example.com","name":"A"}', {"content-type": "application/json"})
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})


def test_a_failing_function_is_api_gateways_500(tmp_path):
    """A second gateway on a free port with a test-only route to csv-processor, which raises
    InvalidInput for an API event (no bucketName): API Gateway answers 500, not the error."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    routes = tmp_path / "routes.json"
    routes.write_text(json.dumps({"POST /process": "csv-processor"}))
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    lambda_url = f"http://127.0.0.1:{os.environ.get('LAMBDA_PORT', '9000')}"
    gateway = subprocess.Popen(
        [str(target / "debug" / "local-gateway"), "serve", "--listen", f"127.0.0.1:{port}", "--routes", str(routes),
         "--lambda-endpoint", lambda_url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/process", data=b"{}", method="POST")
                urllib.request.urlopen(request, timeout=60)
                raise AssertionError("a failing function must not answer 2xx")
            except urllib.error.HTTPError as error:
                assert (error.code, json.loads(error.read())) == (500, {"message": "Internal Server Error"})
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline, "the test gateway did not start"
                time.sleep(0.1)
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)


def executions_for(sfn, key: str) -> list:
    found = []
    for execution in sfn.list_executions(stateMachineArn=MACHINE, maxResults=1000)["executions"]:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if json.loads(described["input"]).get("objectKey") == key:
            found.append(described)
    return found


def wait_for_executions(sfn, key: str, count: int, timeout: float = 60.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = executions_for(sfn, key)
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{count} execution(s) for {key!r} expected, found {len(executions_for(sfn, key))}")


def test_an_upload_starts_exactly_one_execution_and_a_reupload_another(s3, sfn, dynamodb):
    sensor = f"up-{uuid.uuid4().hex[:8]}"
    key = f"incoming/front door {uuid.uuid4().hex[:6]} a+b é.csv"
    body = f"sensor_id,timestamp,value\n{sensor},1,1.5\n{sensor},2,2.5\n".encode()
    s3.put_object(Bucket=SOURCE_BUCKET, Key=key, Body=body)
    first = wait_for_executions(sfn, key, 1)
    assert wait_for_execution(sfn, first[0]["executionArn"])["status"] == "SUCCEEDED"
    time.sleep(2)  # room for a duplicate start, which must not come
    assert len(executions_for(sfn, key)) == 1
    items = dynamodb.query(TableName=SENSOR_TABLE, KeyConditionExpression="sensor_id = :s",
                           ExpressionAttributeValues={":s": {"S": sensor}})["Items"]
    assert len(items) == 2

    s3.put_object(Bucket=SOURCE_BUCKET, Key=key, Body=body)
    both = wait_for_executions(sfn, key, 2)
    assert len(both) == 2
    for execution in both:
        assert wait_for_execution(sfn, execution["executionArn"])["status"] == "SUCCEEDED"
    assert len(dynamodb.query(TableName=SENSOR_TABLE, KeyConditionExpression="sensor_id = :s",
                              ExpressionAttributeValues={":s": {"S": sensor}})["Items"]) == 2


def test_uploads_outside_the_templates_filter_start_nothing(s3, sfn):
    key = f"incoming/notes-{uuid.uuid4().hex[:6]}.txt"
    other = f"elsewhere/{uuid.uuid4().hex[:6]}.csv"
    s3.put_object(Bucket=SOURCE_BUCKET, Key=key, Body=b"a,1,2\n")
    s3.put_object(Bucket=SOURCE_BUCKET, Key=other, Body=b"a,1,2\n")
    time.sleep(2)
    assert executions_for(sfn, key) == [] and executions_for(sfn, other) == []


def test_provisioning_follows_a_changed_copy_of_the_template(tmp_path, sfn):
    """Nothing of the stack is hard-coded: a table's key, a state machine's name and one of its
    DefinitionSubstitutions changed in a copy of the template are what the stack gets."""
    template = (ROOT / "infra" / "template.yaml").read_text()
    tag = uuid.uuid4().hex[:6]
    changes = [
        ("        - AttributeName: userId\n          AttributeType: S\n", "        - AttributeName: accountId\n          AttributeType: S\n"),
        ("        - AttributeName: userId\n          KeyType: HASH", "        - AttributeName: accountId\n          KeyType: HASH"),
        ('Name: !Sub "${AWS::StackName}-csv-ingest"', f'Name: !Sub "${{AWS::StackName}}-csv-ingest-{tag}"'),
        ("EmailerFunctionArn: !Sub \"arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-emailer\"",
         "EmailerFunctionArn: !Sub \"arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-emailer-v2\""),
    ]
    for old, new in changes:
        assert old in template, f"{old!r} is no longer in the template: the test changes nothing"
        template = template.replace(old, new, 1)
    copy = tmp_path / "infra" / "template.yaml"
    copy.parent.mkdir()
    copy.write_text(template)
    (tmp_path / "statemachines").symlink_to(ROOT / "statemachines")  # DefinitionUri is relative to the template
    table = f"users-{tag}"
    env = dict(os.environ, AWS_ENDPOINT_URL=MOTO, USERS_TABLE=table, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "provision.py"), "--template", str(copy), "--state-dir", str(tmp_path),
                    "--sfn-endpoint", SFN], env=env, check=True, capture_output=True)
    dynamodb = make_client("dynamodb", MOTO)
    machine = f"arn:aws:states:us-east-1:123456789012:stateMachine:csv-ingest-{tag}"
    try:
        schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        assert schema == [{"AttributeName": "accountId", "KeyType": "HASH"}]
        # The same table, now keyed otherwise than the template in use says: refused, not reused.
        back = subprocess.run([sys.executable, str(ROOT / "scripts" / "provision.py"), "--template", str(ROOT / "infra" / "template.yaml"),
                               "--state-dir", str(tmp_path), "--sfn-endpoint", SFN], env=env, capture_output=True, text=True)
        assert back.returncode != 0
        assert f"table {table} exists with key [('accountId', 'HASH', 'S')], the template says [('userId', 'HASH', 'S')]" in back.stderr
        assert json.loads((tmp_path / "routes.json").read_text())["GET /friday"] == "friday-api"
        definition = sfn.describe_state_machine(stateMachineArn=machine)["definition"]
        assert "function:emailer-v2" in definition and "${" not in definition
        assert "function:csv-processor" in definition
    finally:
        dynamodb.delete_table(TableName=table)
        sfn.delete_state_machine(stateMachineArn=machine)
