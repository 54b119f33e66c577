"""A fault-injecting HTTP proxy for the local stack: it forwards every request to its upstream
(moto, or local-lambda's Invoke API) unchanged, except the ones a fault rule matches.

Rules are set over HTTP on the proxy itself, so a test arms a fault, runs a workflow and
reads how often the fault fired:

    POST   /_faults   {"rules": [RULE, ...]}   replaces the rules
    GET    /_faults   the rules with their "fired" counts
    DELETE /_faults   no faults

RULE = {"name": str, "match": MATCH, "fault": FAULT, "times": int (default 1, -1 = always),
        "skip": int (matching requests let through before the first fault, default 0)}
MATCH (all given keys must hold):
    "target": X-Amz-Target ends with it ("BatchWriteItem", "DynamoDB_20120810.PutItem")
    "method": "GET" | "PUT" | ...;  "path": a regular expression searched in the decoded path
    "header": a header that must be present ("x-amz-copy-source": CopyObject, UploadPartCopy)
FAULT:
    {"respond": {"status": 400, "body": "...", "headers": {...}}}  answer this instead of the upstream
    {"unprocessed": 0.5}   BatchWriteItem: forward only half of the items, return the rest as
                           UnprocessedItems (what DynamoDB does when a partition is hot)
    {"cut_after": 4096}    forward, then close the connection after this many body bytes
                           (a GetObject that fails mid-stream)
    {"delay": 5.0}         wait this many seconds, then forward (timeouts)

Usage: fault_proxy.py --listen 127.0.0.1:PORT --upstream http://127.0.0.1:PORT"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host"}


class Rules:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules: list[dict] = []

    def replace(self, rules: list[dict]) -> None:
        checked = []
        for rule in rules:
            if not isinstance(rule, dict) or not isinstance(rule.get("match"), dict) or not isinstance(rule.get("fault"), dict):
                raise ValueError(f"a rule needs a 'match' object and a 'fault' object: {rule!r}")
            kinds = set(rule["fault"]) & {"respond", "unprocessed", "cut_after", "delay"}
            if len(kinds) != 1:
                raise ValueError(f"a fault is one of respond, unprocessed, cut_after, delay: {rule['fault']!r}")
            checked.append({"name": rule.get("name", ""), "match": rule["match"], "fault": rule["fault"],
                            "times": int(rule.get("times", 1)), "skip": int(rule.get("skip", 0)), "fired": 0, "seen": 0})
        with self.lock:
            self.rules = checked

    def report(self) -> list[dict]:
        with self.lock:
            return [dict(rule) for rule in self.rules]

    def take(self, method: str, path: str, headers) -> dict | None:
        """The fault to apply to this request, if a rule matches and still has faults to give."""
        with self.lock:
            for rule in self.rules:
                if not matches(rule["match"], method, path, headers):
                    continue
                rule["seen"] += 1
                if rule["seen"] <= rule["skip"]:
                    return None
                if rule["times"] >= 0 and rule["fired"] >= rule["times"]:
                    continue
                rule["fired"] += 1
                return rule["fault"]
        return None


def matches(match: dict, method: str, path: str, headers) -> bool:
    if "method" in match and match["method"].upper() != method:
        return False
    if "target" in match and not (headers.get("x-amz-target") or "").endswith(match["target"]):
        return False
    if "path" in match and not re.search(match["path"], unquote(path)):
        return False
    if "header" in match and headers.get(match["header"]) is None:
        return False
    return True


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: tuple[str, int]
    rules: Rules

    def log_message(self, fmt, *args):  # quiet: the stack's logs are the upstreams'
        pass

    def body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def admin(self, body: bytes) -> None:
        try:
            if self.command == "POST":
                self.rules.replace(json.loads(body or b"{}").get("rules", []))
            elif self.command == "DELETE":
                self.rules.replace([])
            self.answer(200, json.dumps({"rules": self.rules.report()}).encode(), {"content-type": "application/json"})
        except (ValueError, AttributeError, TypeError) as error:
            self.answer(400, json.dumps({"message": str(error)}).encode(), {"content-type": "application/json"})

    def handle_any(self) -> None:
        body = self.body()
        path = self.path
        if urlsplit(path).path == "/_faults":
            return self.admin(body)
        fault = self.rules.take(self.command, urlsplit(path).path, self.headers)
        if fault and "respond" in fault:
            spec = fault["respond"]
            return self.answer(int(spec.get("status", 500)), str(spec.get("body", "")).encode(), spec.get("headers"))
        if fault and "delay" in fault:
            time.sleep(float(fault["delay"]))
        unprocessed = None
        if fault and "unprocessed" in fault:
            body, unprocessed = split_batch(body, float(fault["unprocessed"]))
            if body is None:  # nothing left to forward: DynamoDB wrote none of it
                answer = {"UnprocessedItems": unprocessed}
                return self.answer(200, json.dumps(answer).encode(), {"content-type": "application/x-amz-json-1.0"})
        status, headers, payload = self.forward(body)
        if unprocessed is not None and status == 200:
            answered = json.loads(payload or b"{}")
            answered["UnprocessedItems"] = unprocessed
            payload = json.dumps(answered).encode()
            headers = {k: v for k, v in headers.items() if k.lower() != "x-amz-crc32"}  # the body changed
        if fault and "cut_after" in fault:
            return self.cut(status, headers, payload, int(fault["cut_after"]))
        self.answer(status, payload, headers)

    def forward(self, body: bytes) -> tuple[int, dict, bytes]:
        connection = http.client.HTTPConnection(*self.upstream, timeout=900)
        try:
            # http.client sets content-length from the body, which a fault may have changed.
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"content-length"}}
            headers["host"] = f"{self.upstream[0]}:{self.upstream[1]}"
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}}
            return response.status, kept, payload
        finally:
            connection.close()

    def cut(self, status: int, headers: dict, payload: bytes, after: int) -> None:
        """The full length announced, part of the body sent, the connection closed."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[:after])
        self.wfile.flush()
        self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = handle_any


def split_batch(body: bytes, keep: float) -> tuple[bytes | None, dict]:
    """A BatchWriteItem request cut in two: what is forwarded (None: nothing), and the rest as
    UnprocessedItems."""
    request = json.loads(body)
    forwarded, rest = {}, {}
    for table, writes in request.get("RequestItems", {}).items():
        cut = int(len(writes) * keep)
        if writes[:cut]:
            forwarded[table] = writes[:cut]
        if writes[cut:]:
            rest[table] = writes[cut:]
    if not forwarded:
        return None, rest
    request["RequestItems"] = forwarded
    return json.dumps(request).encode(), rest


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--upstream", required=True, help="http://HOST:PORT")
    args = parser.parse_args(argv)
    host, port = args.listen.rsplit(":", 1)
    upstream = urlsplit(args.upstream)
    handler = type("Handler", (Proxy,), {"upstream": (upstream.hostname, upstream.port or 80), "rules": Rules()})
    server = ThreadingHTTPServer((host, int(port)), handler)
    server.daemon_threads = True
    print(f"fault proxy on {args.listen} -> {args.upstream}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
