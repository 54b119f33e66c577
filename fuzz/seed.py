#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the project's fixtures (make fuzz runs it before fuzzing).

Each seed is named by its content's hash, so running this again adds nothing twice, and what
libFuzzer added to a corpus stays. The fixtures: events/*.json and *.csv, statemachines/*.asl.json,
sfn-local's examples and conformance cases; the expressions (JSONPath, intrinsic functions,
JSONata) are the ones those definitions hold, each with its case's input. Inputs that take an
expression and a document separate them with a NUL byte (see fuzz/src/lib.rs).
"""

import hashlib
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
# libFuzzer's default -max_len is 4096: a longer seed is only read up to it.
MAX_SEED = 4096

MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:m"
EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:m:e"
ROLE = "arn:aws:iam::123456789012:role/r"

CSV_SEEDS = [
    b"sensor_id,timestamp,value\ns-1,1700000000,21.5\ns-2,1700000060,-0.25\n",
    b"\xef\xbb\xbfsensor_id,timestamp,value\r\ns-1,1,2\r\n\r\n\"s,3\",\"4\",\"5e3\"\n",
    b"s-1,1,+.5\ns-1,1,1E-130\ns-1,2,9.9999999999999999999999999999999999999E+125\nbad\ns,1.5,x\n",
]

BRIDGE_EVENT = {
    "version": "0", "detail-type": "Object Created", "source": "aws.s3",
    "detail": {"version": "0", "bucket": {"name": "uploads"},
               "object": {"key": "incoming/day 1.csv", "size": 42, "etag": "e1", "sequencer": "0A"},
               "reason": "PutObject"},
}


def write(target: str, data: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    data = data[:MAX_SEED]
    (folder / f"seed-{hashlib.sha1(data).hexdigest()[:16]}").write_bytes(data)


def definitions():
    """(definition as JSON, an input for it) from every fixture that holds one."""
    for path in sorted((ROOT / "statemachines").glob("*.asl.json")):
        yield json.loads(path.read_text()), {}
    for path in sorted((ROOT / "crates" / "sfn-local" / "examples").glob("*.asl.json")):
        yield json.loads(path.read_text()), {}
    for path in sorted((ROOT / "crates" / "sfn-local" / "tests" / "conformance").glob("*.json")):
        case = json.loads(path.read_text())
        if isinstance(case.get("definition"), dict):
            yield case["definition"], case.get("input", {})


def strings(value, key=""):
    """(field name, string) for every string in a definition."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v, key)
    elif isinstance(value, str):
        yield key, value


def expression_seeds(definition, document):
    doc = json.dumps(document).encode()
    for key, text in strings(definition):
        if text.startswith("{%") and text.endswith("%}"):
            yield "jsonata", text[2:-2].strip().encode() + b"\0" + doc
        elif text.startswith("States."):
            yield "intrinsics", text.encode() + b"\0" + doc
        elif text.startswith("$") and (key.endswith(".$") or key.endswith("Path") or key == "Variable"):
            yield "jsonpath", text.encode() + b"\0" + doc


def api_seeds(definitions_text):
    definition = definitions_text[0] if definitions_text else '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}'
    calls = [
        ("CreateStateMachine", {"name": "n", "definition": definition, "roleArn": ROLE}),
        ("UpdateStateMachine", {"stateMachineArn": MACHINE_ARN, "definition": definition}),
        ("DescribeStateMachine", {"stateMachineArn": MACHINE_ARN}),
        ("DeleteStateMachine", {"stateMachineArn": MACHINE_ARN}),
        ("ListStateMachines", {"maxResults": 1}),
        ("StartExecution", {"stateMachineArn": MACHINE_ARN, "name": "x", "input": "{\"a\": 1}"}),
        ("StopExecution", {"executionArn": EXECUTION_ARN, "error": "E", "cause": "c"}),
        ("DescribeExecution", {"executionArn": EXECUTION_ARN}),
        ("ListExecutions", {"stateMachineArn": MACHINE_ARN, "statusFilter": "RUNNING", "maxResults": 1}),
        ("GetExecutionHistory", {"executionArn": EXECUTION_ARN, "reverseOrder": True, "maxResults": 2}),
    ]
    for operation, body in calls:
        yield f"AWSStepFunctions.{operation}\n".encode() + json.dumps(body).encode()


def main() -> int:
    events = ROOT / "events"
    for data in CSV_SEEDS:
        write("csv_rows", data)
    for path in sorted(events.glob("*.csv")):
        write("csv_rows", path.read_bytes())
    write("s3_event", (events / "ingest-starter.json").read_bytes())
    write("s3_event", json.dumps(BRIDGE_EVENT).encode())
    write("friday_api", (events / "friday-api.json").read_bytes())
    write("signup_register", (events / "signup-register.json").read_bytes())
    write("signup_confirm", (events / "signup-confirm.json").read_bytes())
    for name in ("enrollment-request.json", "enrollment-validate.json"):
        write("enrollment_input", (events / name).read_bytes())
    texts = []
    for definition, document in definitions():
        text = json.dumps(definition, separators=(",", ":"))
        texts.append(text)
        write("asl_definition", text.encode())
        for target, data in expression_seeds(definition, document):
            write(target, data)
    for data in api_seeds(sorted(texts, key=len)):
        write("sfn_api", data)
    counts = {d.name: len(list(d.iterdir())) for d in sorted(CORPUS.iterdir()) if d.is_dir()}
    print("corpus files:", ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
