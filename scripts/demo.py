"""`make demo`: with the local stack up, run every workflow end to end through its front doors
(an S3 upload, real HTTP requests to the local API, StartExecution) and show, for each, the
execution's state-by-state timeline and what it changed."""

import datetime as dt
import json
import os
import pathlib
import sys
import time
import urllib.error
import urllib.request
import uuid
from decimal import Decimal

from zoneinfo import ZoneInfo

import boto3
from boto3.dynamodb.types import TypeDeserializer

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import template as cfn  # noqa: E402  (the stack's own reading of infra/template.yaml)
MOTO = f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '4566')}"
SFN_URL = f"http://127.0.0.1:{os.environ.get('SFN_PORT', '8083')}"
API_URL = f"http://127.0.0.1:{os.environ.get('API_PORT', '3000')}"
PINPOINT_URL = f"http://127.0.0.1:{os.environ.get('PINPOINT_PORT', '4570')}"
# The names the stack gave the resources: the template's, or DESIGN.md's variables overriding them.
_NAMES = cfn.stack_values(API_URL)
SOURCE = _NAMES.bucket_names["UploadBucket"]
ARCHIVE = _NAMES.bucket_names["ArchiveBucket"]
TABLE = {lid.removesuffix("Table").lower(): name for lid, name in _NAMES.table_names.items()}


def client(service: str, endpoint: str):
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


SFN = client("stepfunctions", SFN_URL)
S3 = client("s3", MOTO)
DYNAMODB = client("dynamodb", MOTO)


def heading(text: str) -> None:
    print(f"\n{'=' * 78}\n{text}\n{'=' * 78}")


def timeline(execution_arn: str) -> None:
    events = SFN.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    start = events[0]["timestamp"]
    for event in events:
        offset = (event["timestamp"] - start).total_seconds()
        kind = event["type"]
        if kind.endswith("StateEntered"):
            line = f"▶ {event['stateEnteredEventDetails']['name']} ({kind.removesuffix('StateEntered')})"
        elif kind.endswith("StateExited"):
            output = event["stateExitedEventDetails"].get("output", "")
            line = f"✓ {event['stateExitedEventDetails']['name']} → {output[:80]}{'…' if len(output) > 80 else ''}"
        elif kind.endswith("Failed") and "error" in json.dumps(event, default=str):
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            line = f"✗ {kind}: {details.get('error', '')}"
        elif kind.startswith("Execution"):
            line = f"● {kind}"
        else:
            continue
        print(f"  {offset:>9.3f}s  {line}")


def clock(advance_seconds: float | None = None) -> dict:
    """sfn-local's clock (`{"mode", "now"}`), advanced first when asked (manual clock only)."""
    data = None if advance_seconds is None else json.dumps({"advanceSeconds": advance_seconds}).encode()
    request = urllib.request.Request(f"{SFN_URL}/_sfn-local/clock", data=data, method="GET" if data is None else "POST",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def lookup(data, path: str):
    """A simple JSONPath (`$.a.b`) in `data`; None when absent."""
    value = data
    for part in path.removeprefix("$.").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def wait_end(execution_arn: str, entered: dict) -> dt.datetime | None:
    """When the Wait state just entered ends, from its definition and its input."""
    machine = SFN.describe_execution(executionArn=execution_arn)["stateMachineArn"]
    states = json.loads(SFN.describe_state_machine(stateMachineArn=machine)["definition"])["States"]
    details = entered["stateEnteredEventDetails"]
    state, data = states.get(details["name"], {}), json.loads(details.get("input") or "{}")

    if "Seconds" in state:
        return entered["timestamp"] + dt.timedelta(seconds=state["Seconds"])
    if "Timestamp" in state:
        return instant(state["Timestamp"])
    if "SecondsPath" in state:
        return entered["timestamp"] + dt.timedelta(seconds=float(lookup(data, state["SecondsPath"])))
    if "TimestampPath" in state:
        return instant(lookup(data, state["TimestampPath"]))
    return None


def wait(execution_arn: str) -> dict:
    """Waits for the execution to end. On a manual clock, a Wait it enters is fast-forwarded
    to its end, so the demo tells the story of days in seconds, as a virtual clock would."""
    manual = clock()["mode"] == "manual"
    while True:
        described = SFN.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if manual:
            last = SFN.get_execution_history(executionArn=execution_arn, maxResults=1, reverseOrder=True)["events"]
            if last and last[0]["type"] == "WaitStateEntered":
                end = wait_end(execution_arn, last[0])
                if end is not None:
                    ahead = (end - instant(clock()["now"])).total_seconds()
                    if ahead > 0:
                        clock(ahead)
        time.sleep(0.05)


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    """A real HTTP request (to the local API gateway): (status, JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def execution_started_by_upload(key: str, after: dt.datetime, timeout: float = 60.0) -> str:
    """The csv-ingest execution the upload of `key` started (S3 notification -> ingest-starter)."""
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:csv-ingest"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for execution in SFN.list_executions(stateMachineArn=machine, maxResults=100)["executions"]:
            if execution["startDate"] < after:
                continue
            started = json.loads(SFN.describe_execution(executionArn=execution["executionArn"])["input"])
            if started.get("objectKey") == key:
                return execution["executionArn"]
        time.sleep(0.2)
    raise SystemExit(f"no csv-ingest execution started for s3://{SOURCE}/{key} within {timeout:.0f} s")


def sent_emails() -> list:
    with urllib.request.urlopen(f"{MOTO}/moto-api/data.json?service=ses&model=Message", timeout=60) as r:
        return json.loads(r.read())["ses"]["Message"]


def demo_csv_ingest() -> bool:
    heading("csv-ingest: an S3 upload of sensor readings -> DynamoDB -> processed/ -> report e-mail")
    key = "incoming/sample readings.csv"
    body = (ROOT / "events/sample-readings.csv").read_bytes()
    print(f"$ aws --endpoint-url {MOTO} s3 cp events/sample-readings.csv 's3://{SOURCE}/{key}'")
    before = clock()["now"]
    S3.put_object(Bucket=SOURCE, Key=key, Body=body)
    print(f"uploaded s3://{SOURCE}/{key} ({len(body)} bytes, 9 rows, 3 of them bad);")
    print("the bucket's notification reaches ingest-starter, which starts csv-ingest")
    arn = execution_started_by_upload(key, instant(before))
    wall = time.monotonic()
    described = wait(arn)
    simulated = (described["stopDate"] - described["startDate"]).total_seconds()
    print(f"\nexecution {arn.rsplit(':', 1)[1]}: {described['status']} "
          f"({simulated:,.0f} s simulated, {time.monotonic() - wall:.2f} s wall)")
    timeline(arn)

    print(f"\nitems in {TABLE['sensor']}:")
    des = TypeDeserializer()
    for item in sorted(
        ({k: des.deserialize(v) for k, v in i.items()} for i in DYNAMODB.scan(TableName=TABLE["sensor"])["Items"]),
        key=lambda i: (i["sensor_id"], i["timestamp"]),
    ):
        print(f"  {item['sensor_id']:<14} {item['timestamp']}  {item['value']}")
    archive = [o["Key"] for o in S3.list_objects_v2(Bucket=ARCHIVE).get("Contents", [])]
    print(f"\n{ARCHIVE} now holds: {archive}")
    print(f"{SOURCE}/incoming now holds: {[o['Key'] for o in S3.list_objects_v2(Bucket=SOURCE).get('Contents', [])]}")
    rejected = S3.get_object(Bucket=ARCHIVE, Key="rejected/sample readings.csv")["Body"].read().decode()
    print("\nrejected rows (rejected/sample readings.csv):")
    for line in rejected.splitlines():
        print(f"  {line}")
    for mail in sent_emails():
        if key in mail["subject"]:
            print(f"\ne-mail to {mail['destinations']['ToAddresses']}: {mail['subject']}")
            for line in mail["body"].splitlines():
                print(f"  | {line}")
    return described["status"] == "SUCCEEDED"


def pick_zone(candidates: list, later: bool) -> str:
    """A zone whose local date is after (later) or before the UTC date right now."""
    now = dt.datetime.now(dt.timezone.utc)
    for zone in candidates:
        local = now.astimezone(ZoneInfo(zone)).date()
        if (local > now.date()) if later else (local < now.date()):
            return zone
    return candidates[0]


def demo_friday_reminder() -> bool:
    heading("friday-reminder: is it Friday yet where the user is? If not, a push on Friday")
    east = pick_zone(["Pacific/Kiritimati", "Pacific/Auckland", "Asia/Tokyo", "Asia/Kolkata"], later=True)
    west = pick_zone(["Pacific/Pago_Pago", "Pacific/Honolulu", "America/Los_Angeles", "America/New_York"], later=False)
    now = dt.datetime.now(dt.timezone.utc)
    print(f"now: {now:%A %Y-%m-%d %H:%M} UTC")
    users = [("ana", east, 8, [("ana-iphone", "APNS")]), ("bob", west, 9, [("bob-pixel", "GCM"), ("bob-ipad", "APNS")])]
    for user, zone, hour, devices in users:
        DYNAMODB.put_item(TableName=TABLE["users"], Item={
            "userId": {"S": user}, "timezone": {"S": zone}, "notifyHour": {"N": str(hour)},
            "devices": {"L": [{"M": {"token": {"S": t}, "platform": {"S": p}}} for t, p in devices]},
        })
        print(f"user {user}: {zone}, local time {now.astimezone(ZoneInfo(zone)):%A %H:%M}, notify at {hour:02}:00")
    ok = True
    for user, zone, _, _ in users:
        status, body = http("GET", f"{API_URL}/friday?userId={user}")
        print(f"\n$ curl '{API_URL}/friday?userId={user}'\n{status} {json.dumps(body)}")
        if status == 202:
            described = wait(body["executionArn"])
            simulated = (described["stopDate"] - described["startDate"]).total_seconds()
            print(f"execution {body['executionArn'].rsplit(':', 1)[1]}: {described['status']} ({simulated:,.0f} s simulated)")
            timeline(body["executionArn"])
            ok = ok and described["status"] == "SUCCEEDED"
        else:
            ok = ok and status == 200
    with urllib.request.urlopen(f"{PINPOINT_URL}/_local/messages", timeout=10) as r:
        pushes = json.loads(r.read())
    print("\npushes recorded by the local Pinpoint endpoint:")
    for push in pushes:
        message = push["request"]["MessageConfiguration"]
        print(f"  to {push['request']['Addresses']}: {message['APNSMessage']['Title']} {message['APNSMessage']['Body']}")
    return ok


def demo_course_enrollment() -> bool:
    heading("course-enrollment: name, e-mail and payment checked in parallel, validated, the seat taken in one transaction")
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:course-enrollment"
    put = lambda table, **attrs: DYNAMODB.put_item(TableName=table, Item={
        k: {"N": str(v)} if isinstance(v, (int, Decimal)) else {"S": v} for k, v in attrs.items()})
    put(TABLE["courses"], courseId="rust-101", title="Rust for services", price=Decimal("120.00"), seatsAvailable=10)
    put(TABLE["courses"], courseId="sfn-201", title="Step Functions in depth", price=Decimal("80.00"), seatsAvailable=1)
    students = [("ana@example.com", "Ana Lima"), ("bob@example.com", "Bob Stone"), ("cleo@example.com", "Cleo Park")]
    for email, name in students:
        put(TABLE["students"], email=email, name=name, studentId=f"st-{email.split('@')[0]}")
    put(TABLE["payments"], paymentId="pay-ana", email="ana@example.com", courseId="rust-101", amount=Decimal("120.00"), status="PAID")
    put(TABLE["payments"], paymentId="pay-bob", email="bob@example.com", courseId="rust-101", amount=Decimal("60.00"), status="PENDING")
    put(TABLE["payments"], paymentId="pay-bob-sfn", email="bob@example.com", courseId="sfn-201", amount=80, status="PAID")
    put(TABLE["payments"], paymentId="pay-cleo-sfn", email="cleo@example.com", courseId="sfn-201", amount=80, status="PAID")
    print("courses: rust-101 (120.00, 10 seats), sfn-201 (80.00, 1 seat); students: Ana, Bob, Cleo;")
    print("payments: Ana PAID 120.00 for rust-101, Bob PENDING 60.00 for rust-101, Bob and Cleo PAID 80 for sfn-201")

    def start(label: str, payload: dict) -> str:
        name = f"demo-{label}-{int(time.time() * 1000)}"
        return SFN.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload))["executionArn"]

    def show(arn: str, with_timeline: bool = True) -> dict:
        described = wait(arn)
        print(f"\nexecution {arn.rsplit(':', 1)[1]}: {described['status']}")
        if with_timeline:
            timeline(arn)
        if described["status"] == "SUCCEEDED":
            print(f"  output: {described['output']}")
        else:
            print(f"  error: {described.get('error')}")
            for reason in json.loads(described.get("cause") or "[]"):
                print(f"  reason: {reason}")
        return described

    request = lambda email, name, course, payment: {"name": name, "email": email, "courseId": course, "paymentId": payment}
    print("\n-- Ana enrolls in rust-101 (paid in full):")
    approved = show(start("ana", request("ana@example.com", "Ana Lima", "rust-101", "pay-ana")))
    print("\n-- Bob tries rust-101 with a payment still pending and a misspelt name:")
    rejected = show(start("bob", request("bob@example.com", "Rob Stone", "rust-101", "pay-bob")))
    print("\n-- Bob and Cleo race for the last seat of sfn-201, started together:")
    arns = [start("bob-sfn", request("bob@example.com", "Bob Stone", "sfn-201", "pay-bob-sfn")),
            start("cleo-sfn", request("cleo@example.com", "Cleo Park", "sfn-201", "pay-cleo-sfn"))]
    raced = [show(arn, with_timeline=False) for arn in arns]
    seats = DYNAMODB.get_item(TableName=TABLE["courses"], Key={"courseId": {"S": "sfn-201"}})["Item"]["seatsAvailable"]["N"]
    enrolled = DYNAMODB.query(TableName=TABLE["enrollments"], KeyConditionExpression="courseId = :c",
                              ExpressionAttributeValues={":c": {"S": "sfn-201"}})["Items"]
    print(f"\nsfn-201 now: {seats} seats left, enrolled: {[e['email']['S'] for e in enrolled]}")
    winners = sorted(r["status"] for r in raced)
    return (approved["status"] == "SUCCEEDED" and rejected.get("error") == "EnrollmentRejected"
            and winners == ["FAILED", "SUCCEEDED"] and seats == "0" and len(enrolled) == 1)


def normal_address(address: str) -> str:
    """Where sign-up mail goes: the domain lower-cased, the local part as typed."""
    local, domain = address.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def demo_confirmation_reminder() -> bool:
    heading("confirmation-reminder: sign-up, a confirmation link by e-mail, a reminder a day later if unconfirmed")
    manual = clock()["mode"] == "manual"
    if not manual:
        print("the stack runs on a virtual clock: each execution's day passes the moment it starts, so nobody can\n"
              "confirm in time. For the full story: SFN_LOCAL_CLOCK=manual make demo")
    run = uuid.uuid4().hex[:6]
    people = {"carla": f"carla.{run}@Example.COM", "dev": f"dev.{run}@example.com"}
    ids, links = {}, {}
    for person, address in people.items():
        body = {"email": address, "name": person.title()}
        status, answer = http("POST", f"{API_URL}/register", body)
        print(f"$ curl -X POST {API_URL}/register -H 'content-type: application/json' -d '{json.dumps(body)}'\n"
              f"{status} {json.dumps(answer)}")
        ids[person] = answer["customerId"]
    same = f"carla.{run}@EXAMPLE.com"
    status, answer = http("POST", f"{API_URL}/register", {"email": same, "name": "Carla"})
    print(f"POST /register {same} again -> {status} {json.dumps(answer)}")
    arns = {p: DYNAMODB.get_item(TableName=TABLE["customers"], Key={"customerId": {"S": i}})["Item"]["executionArn"]["S"]
            for p, i in ids.items()}
    for person, address in people.items():
        link = next(m["body"] for m in sent_emails() if normal_address(address) in m["destinations"]["ToAddresses"])
        links[person] = next(word for word in link.split() if "/confirm?" in word)
    if manual:
        for arn in arns.values():
            while not any(e["type"] == "WaitStateEntered"
                          for e in SFN.get_execution_history(executionArn=arn, maxResults=1000)["events"]):
                time.sleep(0.05)
        print("\nboth executions now wait out their day")
    status, answer = http("GET", links["carla"])
    print(f"carla opens the link of her e-mail: GET {links['carla'][:60]}... -> {status} {json.dumps(answer)}")
    if manual:
        print(f"the clock advances a day: now {clock(86400)['now']}")
    ok = True
    for person, arn in arns.items():
        described = wait(arn)
        print(f"\n{person}'s execution: {described['status']} -> {described.get('output')}")
        timeline(arn)
        ok = ok and described["status"] == "SUCCEEDED"
    print("\ne-mails read back from the emulator:")
    for person, address in people.items():
        subjects = [m["subject"] for m in sent_emails() if normal_address(address) in m["destinations"]["ToAddresses"]]
        print(f"  {person}: {subjects}")
        expected = 1 if (person == "carla" and manual) else 2
        ok = ok and len(subjects) == expected
    return ok


def main() -> int:
    registered = sorted(m["name"] for m in SFN.list_state_machines()["stateMachines"])
    print("State machines registered in sfn-local:", ", ".join(registered))
    results = {"csv-ingest": demo_csv_ingest(), "friday-reminder": demo_friday_reminder()}
    results["course-enrollment"] = demo_course_enrollment()
    results["confirmation-reminder"] = demo_confirmation_reminder()
    heading("summary")
    for name, ok in results.items():
        print(f"  {name}: {'ok' if ok else 'FAILED'}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
