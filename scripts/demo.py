"""`make demo`: with the local stack up, run every registered workflow end to end and an
example state machine, printing each execution's state-by-state timeline."""

import json
import pathlib
import subprocess
import sys
import time

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent
ROLE = "arn:aws:iam::123456789012:role/demo"


def client(service: str, endpoint: str):
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


SFN = client("stepfunctions", "http://127.0.0.1:8083")


def timeline(execution_arn: str) -> None:
    events = SFN.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    start = events[0]["timestamp"]
    for event in events:
        offset = (event["timestamp"] - start).total_seconds()
        kind = event["type"]
        if kind.endswith("StateEntered"):
            details = event["stateEnteredEventDetails"]
            line = f"▶ {details['name']} ({kind.removesuffix('StateEntered')})"
        elif kind.endswith("StateExited"):
            details = event["stateExitedEventDetails"]
            output = details.get("output", "")
            line = f"✓ {details['name']} → {output[:90]}{'…' if len(output) > 90 else ''}"
        elif kind.startswith("Execution"):
            line = f"● {kind}"
        else:
            continue
        print(f"  {offset:>10.3f}s  {line}")


def run(machine_arn: str, payload: dict) -> dict:
    wall = time.monotonic()
    arn = SFN.start_execution(stateMachineArn=machine_arn, input=json.dumps(payload))["executionArn"]
    while True:
        described = SFN.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.05)
    simulated = (described["stopDate"] - described["startDate"]).total_seconds()
    print(f"\n=== {arn.split(':')[-2]} / {arn.split(':')[-1]}: {described['status']}"
          f" ({simulated:,.0f} s simulated, {time.monotonic() - wall:.2f} s wall)")
    timeline(arn)
    if "output" in described:
        print(f"  output: {described['output']}")
    else:
        print(f"  error: {described.get('error')}: {described.get('cause')}")
    return described


def main() -> int:
    registered = SFN.list_state_machines()["stateMachines"]
    workflows = [m for m in registered if not m["name"].startswith("example-")]
    if workflows:
        print("Registered workflows:", ", ".join(m["name"] for m in workflows))
    else:
        print("No workflow state machines under statemachines/ yet: each arrives with its workflow.")

    example = ROOT / "crates/sfn-local/examples/day-wait.asl.json"
    print(f"\nExample: {example.relative_to(ROOT)}, as a Mermaid flowchart:\n")
    subprocess.run([str(ROOT / "target/debug/sfn-local"), "graph", str(example)], check=True)
    arn = SFN.create_state_machine(name="example-day-wait", definition=example.read_text(), roleArn=ROLE)[
        "stateMachineArn"
    ]
    ok = run(arn, {"who": "world"})["status"] == "SUCCEEDED"
    failed = run(arn, {"who": "nobody"})["status"] == "FAILED"
    return 0 if ok and failed else 1


if __name__ == "__main__":
    sys.exit(main())
