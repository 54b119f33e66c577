"""Hostile requests to the HTTP API over real HTTP, through the local gateway (API_PORT) and the
functions under `local-lambda`: every one is answered 4xx with a JSON `message` naming the
problem, never 5xx, never slowly, and none registers, e-mails or confirms anything.

Payload 2.0 joins a repeated query parameter with commas ("Duplicate query strings are combined
with commas and included in the queryStringParameters field", API Gateway's Lambda integration
guide), so the functions refuse a repeat instead of picking one of its values."""

import base64
from http.client import HTTPConnection
import json
import time
import urllib.parse
import uuid

import pytest

from conftest import API, CUSTOMERS_TABLE, http, ses_messages

JSON = {"content-type": "application/json"}
MB = 1024 * 1024
QUICK = 3.0  # seconds: a refusal through the gateway and Lambda, on a loaded machine


def raw_request(method: str, path: str, body: bytes | None, headers: list) -> tuple:
    """A request with exactly these headers, repeats included (urllib adds a Content-Type to
    every body and cannot repeat one): (status, headers, body)."""
    address = urllib.parse.urlsplit(API)
    connection = HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("content-length", str(len(body or b"")))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def refused(reply: tuple, status: int, message: str) -> str:
    """Asserts a JSON refusal with this status whose message starts with `message`."""
    code, headers, body = reply
    assert code == status, (code, body[:300])
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert content_type.startswith("application/json"), headers
    text = json.loads(body)["message"]
    assert text.startswith(message), text
    return text


def registration(email: str, name: str = "Ana") -> bytes:
    return json.dumps({"email": email, "name": name}).encode()


def address(tag: str) -> str:
    return f"hard-{tag}-{uuid.uuid4().hex[:10]}@example.com"


def test_a_register_body_over_a_megabyte_is_413_from_the_function():
    padded = json.dumps({"email": address("big"), "name": "Big", "pad": "x" * MB}).encode()
    refused(http("POST", "/register", padded, JSON), 413, "the body is larger than 65536 bytes")


def test_bodies_over_the_gateways_and_lambdas_limits_are_413_never_500():
    # Refused on the declared length, before a byte of the body is read (a client that goes on
    # writing the 10 MB meets a closed connection, so only the headers are sent here).
    address = urllib.parse.urlsplit(API)
    connection = HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.putrequest("POST", "/register")
        connection.putheader("content-type", "application/json")
        connection.putheader("content-length", str(10 * MB + 1))
        connection.endheaders()
        response = connection.getresponse()
        reply = (response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()
    refused(reply, 413, "Request Entity Too Large")
    # Under API Gateway's 10 MB but over Lambda's 6 MB invoke payload.
    over_lambda = json.dumps({"pad": "x" * (7 * MB)}).encode()
    refused(http("POST", "/register", over_lambda, JSON), 413, "Request Entity Too Large")


@pytest.mark.parametrize("path", ["/friday?userId=ana", "/confirm?customerId=" + "0" * 32 + "&token=t"])
def test_a_get_with_a_body_is_400(path):
    refused(http("GET", path, b"x" * MB, JSON), 400, f"GET {path.split('?')[0]} takes no body")


@pytest.mark.parametrize(
    "headers, body, message",
    [
        ([("content-type", "text/plain")], None, "the Content-Type 'text/plain' is not supported"),
        ([("content-type", "application/x-www-form-urlencoded")], b"email=a%40example.com&name=Ana",
         "the Content-Type 'application/x-www-form-urlencoded' is not supported"),
        ([], None, "the Content-Type header is missing"),
        ([("content-type", "application/json; charset=iso-8859-1")], None, "the charset 'iso-8859-1' is not supported"),
        ([("content-type", "application/json"), ("content-type", "text/plain")], None,
         "the Content-Type 'application/json,text/plain' is not supported"),
    ],
    ids=["text-plain", "form", "none", "latin-1", "two-content-types"],
)
def test_a_body_not_declared_as_json_in_utf_8_is_415(headers, body, message):
    email = address("ct")
    reply = raw_request("POST", "/register", body or registration(email), headers)
    refused(reply, 415, message)
    assert not [m for m in ses_messages() if email in m["destinations"]["ToAddresses"]]


def test_json_with_a_utf_8_charset_still_registers():
    for content_type in ["application/json; charset=utf-8", 'Application/JSON;charset="UTF-8"']:
        status, _, body = http("POST", "/register", registration(address("utf8")), {"content-type": content_type})
        assert status == 201, body


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b'{"email":"a@example.com","name":"Ana","x":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    ],
    ids=["arrays", "objects", "inside-a-registration"],
)
def test_ten_thousand_levels_of_nesting_are_400_quickly(body):
    started = time.monotonic()
    reply = http("POST", "/register", body, JSON)
    assert time.monotonic() - started < QUICK
    refused(reply, 400, "the body nests arrays or objects deeper than 16 levels")


def test_bytes_that_are_not_utf_8_are_400_in_the_body_and_in_the_query():
    latin1 = b'{"email":"jose@example.com","name":"Jos\xe9"}'  # the gateway passes it base64-encoded
    refused(http("POST", "/register", latin1, JSON), 400, "the body is not UTF-8 text")
    refused(http("POST", "/register", b'{"email":"jose@example.com","name":"\\ud800"}', JSON), 400, "the body is not JSON")
    refused(http("GET", "/friday?userId=%FF%FE"), 400, "userId ")
    refused(http("GET", "/confirm?customerId=%FF" + "0" * 31 + "&token=t"), 400, "customerId is not a customer id")


def test_a_member_given_twice_is_400():
    body = f'{{"email":"{address("one")}","email":"{address("two")}","name":"Ana"}}'.encode()
    refused(http("POST", "/register", body, JSON), 400, "the body gives email more than once")


def test_a_repeated_user_id_is_400_not_one_of_the_two():
    message = refused(http("GET", "/friday?userId=ana&userId=bo"), 400, "the query parameter userId")
    assert message == "the query parameter userId is given more than once; give it once"


def test_a_repeated_link_parameter_is_400_and_confirms_nothing(dynamodb):
    status, _, body = http("POST", "/register", registration(address("link")), JSON)
    assert status == 201, body
    customer_id = json.loads(body)["customerId"]
    item = dynamodb.get_item(TableName=CUSTOMERS_TABLE, Key={"customerId": {"S": customer_id}}, ConsistentRead=True)
    token = item["Item"]["token"]["S"]
    for query in [f"customerId={customer_id}&customerId={'0' * 32}&token={token}",
                  f"customerId={customer_id}&customerId={customer_id}&token={token}",
                  f"customerId={customer_id}&token=guess&token={token}"]:
        refused(http("GET", f"/confirm?{query}"), 400, "the query parameter")
    item = dynamodb.get_item(TableName=CUSTOMERS_TABLE, Key={"customerId": {"S": customer_id}}, ConsistentRead=True)
    assert item["Item"]["status"]["S"] == "PENDING"
    status, _, body = http("GET", f"/confirm?customerId={customer_id}&token={token}")
    assert status == 200, body


@pytest.mark.parametrize(
    "email, name, message",
    [
        ("{a}\r\nBcc: victim@example.com", "Ana", "email contains a control character"),
        ("{a}%0d%0aBcc:victim@example.com", "Ana", "email contains an encoded control character"),
        ("{a}\u2028Bcc: victim@example.com", "Ana", "email contains a control character"),
        ("{a}\u2029", "Ana", "email contains a control character"),
        ("{a}\u0000", "Ana", "email contains a control character"),
        ("{a}", "Ana\r\nSubject: you won", "name contains a control character"),
        ("{a}", "Ana%0D%0ASubject: you won", "name contains an encoded control character"),
        ("{a}", "Ana\u2028Subject: you won", "name contains a control character"),
        ("{a}", "Ana\u2029", "name contains a control character"),
        ("{a}", "Ana\u0000", "name contains a control character"),
    ],
    ids=["crlf-email", "encoded-crlf-email", "u2028-email", "u2029-email", "nul-email",
         "crlf-name", "encoded-crlf-name", "u2028-name", "u2029-name", "nul-name"],
)
def test_header_injection_attempts_are_400_and_send_nothing(email, name, message):
    target = address("inject")
    refused(http("POST", "/register", registration(email.format(a=target), name), JSON), 400, message)
    assert not [m for m in ses_messages() if any(target in to for to in m["destinations"]["ToAddresses"])]


def test_hostile_header_values_in_the_query_are_400():
    for query in ["userId=ana%0d%0aX-Injected:%201", "userId=ana%00", "userId=ana%E2%80%A8"]:
        reply = http("GET", f"/friday?{query}")
        refused(reply, 400, "userId ")
        assert "x-injected" not in {k.lower() for k in reply[1]}


def test_no_refusal_is_slow():
    """The worst of the above, timed: each refused within QUICK seconds."""
    cases = [
        ("POST", "/register", b"[" * 10_000, JSON),
        ("POST", "/register", json.dumps({"pad": "x" * MB}).encode(), JSON),
        ("POST", "/register", base64.b64encode(b"\xff" * 4096), {"content-type": "application/octet-stream"}),
        ("GET", "/friday?" + "&".join(["userId=a"] * 500), None, {}),
    ]
    for method, path, body, headers in cases:
        started = time.monotonic()
        status, _, _ = http(method, path, body, headers)
        assert 400 <= status < 500 and time.monotonic() - started < QUICK, (path[:40], status)
