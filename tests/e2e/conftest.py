"""Fixtures for the end-to-end tests: AWS clients pointed at the local stack
(`make stack-up`), which the tests expect to be running."""

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import template as cfn  # noqa: E402  (scripts/template.py: the stack's own reading of the template)

MOTO = f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '4566')}"
SFN = f"http://127.0.0.1:{os.environ.get('SFN_PORT', '8083')}"
PINPOINT = f"http://127.0.0.1:{os.environ.get('PINPOINT_PORT', '4570')}"
LAMBDA = f"http://127.0.0.1:{os.environ.get('LAMBDA_PORT', '9000')}"
API = f"http://127.0.0.1:{os.environ.get('API_PORT', '3000')}"
ACCOUNT = "123456789012"

# The resource names the stack was given: the template's, or the DESIGN.md variables overriding them.
_NAMES = cfn.stack_values(API)
SOURCE_BUCKET = _NAMES.bucket_names["UploadBucket"]
TARGET_BUCKET = _NAMES.bucket_names["ArchiveBucket"]
SENSOR_TABLE = _NAMES.table_names["SensorTable"]
USERS_TABLE = _NAMES.table_names["UsersTable"]
CUSTOMERS_TABLE = _NAMES.table_names["CustomersTable"]
STUDENTS_TABLE = _NAMES.table_names["StudentsTable"]
COURSES_TABLE = _NAMES.table_names["CoursesTable"]
PAYMENTS_TABLE = _NAMES.table_names["PaymentsTable"]
ENROLLMENTS_TABLE = _NAMES.table_names["EnrollmentsTable"]

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


def pytest_configure(config):
    # `make e2e-test` runs the suite twice: on the virtual clock without these tests, then
    # on a manual clock (SFN_LOCAL_CLOCK=manual) with only these.
    config.addinivalue_line("markers", "manual_clock: needs sfn-local on the manual clock (advanced by the test)")
    # A third pass (STACK_FAULTS=1) puts fault proxies in the functions' and sfn-local's way.
    config.addinivalue_line("markers", "faults: needs the stack's fault proxies (STACK_FAULTS=1 make stack-up)")
    config.addinivalue_line("markers", "crash: kills a function mid-file; minutes long, run by make test-crash")


def function_pids(binary: str) -> list[int]:
    """This stack's processes of a function: local-lambda gives each the address of its own
    Runtime API, so another stack's processes on this machine are left out."""
    runtime_api = f"AWS_LAMBDA_RUNTIME_API={LAMBDA}/".encode()
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode(errors="replace")
            if not argv0.endswith(f"/{binary}"):
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue
        if any(var.startswith(runtime_api) for var in environ):
            pids.append(int(pid))
    return pids


def make_client(service: str, endpoint: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture(scope="session")
def sfn():
    return make_client("stepfunctions", SFN)


@pytest.fixture(scope="session")
def s3():
    return make_client("s3", MOTO)


@pytest.fixture(scope="session")
def dynamodb():
    return make_client("dynamodb", MOTO)


@pytest.fixture(scope="session")
def ses():
    return make_client("ses", MOTO)


@pytest.fixture(scope="session")
def pinpoint():
    return make_client("pinpoint", PINPOINT)


def http_json(url: str, method: str = "GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read()
        return json.loads(text) if text else None


def http(method: str, path_or_url: str, body: bytes | None = None, headers: dict | None = None):
    """A real HTTP request to the stack's API (API_PORT) or a full URL: (status, headers, body)."""
    url = path_or_url if path_or_url.startswith("http") else f"{API}{path_or_url}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def ses_messages() -> list:
    """Every e-mail moto recorded as sent (only SES's part of its state: cheap however many
    items the tables hold, see scripts/moto_server.py)."""
    return http_json(f"{MOTO}/moto-api/data.json?service=ses&model=Message")["ses"]["Message"]


def wait_for_execution(sfn, arn: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"execution {arn} still running after {timeout} s")
