"""course-enrollment end to end: the five function binaries under `local-lambda`, the
state machine in sfn-local, the students, courses, payments and enrollments in moto's
DynamoDB. Every test seeds its own course, students and payments under a fresh tag, so the
tests do not depend on each other or on their order."""

import json
import threading
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import ACCOUNT, COURSES_TABLE, ENROLLMENTS_TABLE, LAMBDA, PAYMENTS_TABLE, STUDENTS_TABLE, wait_for_execution

MACHINE = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:course-enrollment"


class World:
    """One test's records: a course with `seats` seats at 120.00 and the students asked for."""

    def __init__(self, dynamodb, seats: int = 3):
        self.db = dynamodb
        self.tag = uuid.uuid4().hex[:10]
        self.course = f"rust-{self.tag}"
        dynamodb.put_item(TableName=COURSES_TABLE, Item={
            "courseId": {"S": self.course}, "title": {"S": "Rust for services"},
            "price": {"N": "120.00"}, "seatsAvailable": {"N": str(seats)},
        })

    def student(self, first: str, name: str, amount: str = "120", status: str = "PAID", course: str | None = None) -> dict:
        """Registers a student who made a payment; returns the execution input enrolling them."""
        email = f"{first}.{self.tag}@example.com"
        payment = f"pay-{first}-{self.tag}"
        self.db.put_item(TableName=STUDENTS_TABLE, Item={
            "email": {"S": email}, "name": {"S": name}, "studentId": {"S": f"st-{first}-{self.tag}"},
        })
        self.db.put_item(TableName=PAYMENTS_TABLE, Item={
            "paymentId": {"S": payment}, "email": {"S": email}, "courseId": {"S": course or self.course},
            "amount": {"N": amount}, "status": {"S": status},
        })
        return {"name": name, "email": email, "courseId": self.course, "paymentId": payment}

    def seats(self) -> int:
        item = self.db.get_item(TableName=COURSES_TABLE, Key={"courseId": {"S": self.course}}, ConsistentRead=True)["Item"]
        return int(item["seatsAvailable"]["N"])

    def enrollments(self) -> list:
        found = self.db.query(
            TableName=ENROLLMENTS_TABLE, KeyConditionExpression="courseId = :c",
            ExpressionAttributeValues={":c": {"S": self.course}}, ConsistentRead=True,
        )
        return found["Items"]


def start(sfn, payload: dict) -> str:
    name = f"enroll-{uuid.uuid4().hex}"
    return sfn.start_execution(stateMachineArn=MACHINE, name=name, input=json.dumps(payload))["executionArn"]


def run(sfn, payload: dict) -> dict:
    return wait_for_execution(sfn, start(sfn, payload), timeout=60)


def reasons_of(described: dict) -> list:
    assert described["status"] == "FAILED", described
    assert described["error"] == "EnrollmentRejected", described
    reasons = json.loads(described["cause"])
    assert isinstance(reasons, list) and reasons and all(isinstance(r, str) for r in reasons), described["cause"]
    return reasons


def started_together(sfn, payloads: list) -> list:
    """Starts the executions from threads released at once, then waits for them all."""
    barrier = threading.Barrier(len(payloads))
    arns = [None] * len(payloads)

    def go(i: int) -> None:
        barrier.wait()
        arns[i] = start(sfn, payloads[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [wait_for_execution(sfn, arn, timeout=60) for arn in arns]


def test_an_approved_enrollment_succeeds_with_its_id_and_takes_one_seat(dynamodb, sfn):
    world = World(dynamodb, seats=3)
    ana = world.student("ana", "Ana Lima")
    described = run(sfn, ana)
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert list(output) == ["enrollmentId"] and output["enrollmentId"].startswith("enr-"), output
    assert world.seats() == 2
    [row] = world.enrollments()
    assert row["email"]["S"] == ana["email"]
    assert row["enrollmentId"]["S"] == output["enrollmentId"]
    assert row["enrolledAt"]["S"].endswith("Z") and "T" in row["enrolledAt"]["S"]
    assert row["paymentId"]["S"] == ana["paymentId"]


def test_the_domain_of_the_address_is_not_case_sensitive(dynamodb, sfn):
    world = World(dynamodb)
    ana = world.student("ana", "Ana Lima")
    local, domain = ana["email"].split("@")
    described = run(sfn, {**ana, "email": f"{local}@{domain.upper()}", "name": "  ana   lima "})
    assert described["status"] == "SUCCEEDED", described
    assert [r["email"]["S"] for r in world.enrollments()] == [ana["email"]], "stored in its normal form"


REJECTIONS = {
    # case: (change to the request or the records, what the one reason says)
    "underpaid": "does not cover the price of course",
    "payment pending": "is PENDING, not PAID",
    "name mismatch": "the name given does not match the student registered with",
    "invalid e-mail": "has a domain without a dot",
    "unknown course": "does not exist",
    "already enrolled": "is already enrolled in course",
    "course full": "has no free seat left",
}


def prepare(case: str, world: World, sfn) -> dict:
    if case == "underpaid":
        return world.student("ana", "Ana Lima", amount="119.99")
    if case == "payment pending":
        return world.student("ana", "Ana Lima", status="PENDING")
    if case == "name mismatch":
        return {**world.student("ana", "Ana Lima"), "name": "Bob Stone"}
    if case == "invalid e-mail":
        return {**world.student("ana", "Ana Lima"), "email": f"ana.{world.tag}@localhost"}
    if case == "unknown course":
        ana = world.student("ana", "Ana Lima", course=f"ghost-{world.tag}")
        return {**ana, "courseId": f"ghost-{world.tag}"}
    if case == "already enrolled":
        ana = world.student("ana", "Ana Lima")
        assert run(sfn, ana)["status"] == "SUCCEEDED"
        return ana
    if case == "course full":
        assert run(sfn, world.student("bob", "Bob Stone"))["status"] == "SUCCEEDED"
        return world.student("ana", "Ana Lima")
    raise AssertionError(case)


@pytest.mark.parametrize("case", list(REJECTIONS))
def test_each_rejection_fails_with_enrollment_rejected_and_a_readable_reason(case, dynamodb, sfn):
    world = World(dynamodb, seats=1 if case == "course full" else 3)
    request = prepare(case, world, sfn)
    seats_before, enrolled_before = world.seats(), len(world.enrollments())
    reasons = reasons_of(run(sfn, request))
    assert len(reasons) == 1 and REJECTIONS[case] in reasons[0], reasons
    assert request["email"] not in json.dumps(reasons), "no full e-mail address in the cause"
    assert (world.seats(), len(world.enrollments())) == (seats_before, enrolled_before), "a rejection changes nothing"


def test_several_problems_are_all_listed(dynamodb, sfn):
    world = World(dynamodb)
    ana = world.student("ana", "Ana Lima", status="PENDING")
    reasons = reasons_of(run(sfn, {**ana, "name": "R2-D2", "courseId": f"ghost-{world.tag}"}))
    assert len(reasons) == 3, reasons
    assert "'2'" in reasons[0] and "is PENDING, not PAID" in reasons[1] and "does not exist" in reasons[2], reasons


@pytest.mark.parametrize("change, field", [({"courseId": None}, "courseId"), ({"email": 42}, "email")])
def test_a_missing_or_non_string_field_fails_as_invalid_input_naming_it(change, field, dynamodb, sfn):
    world = World(dynamodb)
    request = {**world.student("ana", "Ana Lima"), **change}
    request = {k: v for k, v in request.items() if v is not None}
    described = wait_for_execution(sfn, start(sfn, request), timeout=60)
    assert described["status"] == "FAILED" and described["error"] == "InvalidInput", described
    assert f"`{field}`" in described["cause"], described["cause"]
    assert (world.seats(), world.enrollments()) == (3, [])


def test_the_last_seat_raced_by_two_executions_goes_to_exactly_one(dynamodb, sfn):
    for _ in range(3):
        world = World(dynamodb, seats=1)
        results = started_together(sfn, [world.student("ana", "Ana Lima"), world.student("bob", "Bob Stone")])
        statuses = sorted(r["status"] for r in results)
        assert statuses == ["FAILED", "SUCCEEDED"], results
        loser = next(r for r in results if r["status"] == "FAILED")
        assert reasons_of(loser) == [f"course {world.course} has no free seat left"]
        assert world.seats() == 0, "never below zero"
        assert len(world.enrollments()) == 1


def test_the_same_student_twice_at_once_is_enrolled_once(dynamodb, sfn):
    world = World(dynamodb, seats=5)
    ana = world.student("ana", "Ana Lima")
    results = started_together(sfn, [ana, ana])
    assert sorted(r["status"] for r in results) == ["FAILED", "SUCCEEDED"], results
    [reason] = reasons_of(next(r for r in results if r["status"] == "FAILED"))
    assert reason.endswith(f"is already enrolled in course {world.course}") and ana["email"] not in reason
    assert world.seats() == 4
    assert len(world.enrollments()) == 1


def invoke_enroll(payload: dict) -> tuple:
    """Invokes enrollment-enroll once (no client retries); answers (function error?, payload).
    A function error is 200 with `X-Amz-Function-Error`, as on Lambda (`cargo lambda watch`
    answers it with a 500 instead, so both are read): the payload is `{"errorType","errorMessage"}`."""
    url = f"{LAMBDA}/2015-03-31/functions/enrollment-enroll/invocations"
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.headers.get("X-Amz-Function-Error") is not None, json.loads(response.read())
    except urllib.error.HTTPError as failed:
        return True, json.loads(failed.read())


def test_the_transaction_itself_refuses_a_second_enrollment_and_an_overbooking(dynamodb):
    """Validation usually refuses first; here enrollment-enroll is called directly, so the
    refusal comes from DynamoDB's cancelled transaction and its per-write reasons."""
    world = World(dynamodb, seats=1)
    ana, bob = world.student("ana", "Ana Lima"), world.student("bob", "Bob Stone")
    error, answer = invoke_enroll({**ana, "executionId": f"direct-{world.tag}"})
    assert not error and answer["enrollmentId"].startswith("enr-"), answer
    error, again = invoke_enroll({**ana, "executionId": f"direct-{world.tag}"})
    assert not error and again == answer, "a retry of the same execution finds its own enrollment"
    error, twice = invoke_enroll(ana)
    assert error and twice["errorType"] == "EnrollmentRejected", twice
    assert twice["errorMessage"].endswith(f"is already enrolled in course {world.course}")
    error, full = invoke_enroll(bob)
    assert error and full["errorType"] == "EnrollmentRejected" and full["errorMessage"] == f"course {world.course} has no free seat left"
    assert (world.seats(), len(world.enrollments())) == (0, 1)
