"""Provision the local stack from infra/template.yaml (scripts/template.py reads it): buckets,
tables with the template's key schemas, verified SES identities, the state machines in
sfn-local (DefinitionUri with its DefinitionSubstitutions resolved to the local functions),
and the local twins of the front doors: `.stack/routes.json` for the HTTP API
gateway, and for each S3 notification of a function an SQS queue fed by the bucket's
notification (same events and key filter) plus a dead-letter queue, listed in
`.stack/pump.json` for the event pump. Idempotent: what exists is left as it is.

Usage: provision.py [--template PATH] [--state-dir DIR] [--sfn-endpoint URL] [--api-url URL]"""

import argparse
import json
import os
import sys
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import template as cfn  # noqa: E402

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
REGION = "us-east-1"
ACCOUNT = "123456789012"


def env(name: str, default: str) -> str:
    return os.environ.get(name) or default


IDENTITIES = [env("SENDER_EMAIL", "no-reply@example.com"), env("REPORT_EMAIL", "ops@example.com")]


def client(service: str, endpoint: str = ENDPOINT):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def provision_buckets(template: dict) -> None:
    s3 = client("s3")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in cfn.buckets(template).values():
        if bucket["name"] not in existing:
            s3.create_bucket(Bucket=bucket["name"])
            print(f"[provision] bucket {bucket['name']}")
        # moto 5.2.5: after an UploadPartCopy out of a versioned bucket (file-mover's multipart
        # move), /moto-api/data.json answers 500 (MissingBucket), and its S3 events carry no
        # versionId anyway; so locally versioning is opt-in (LOCAL_S3_VERSIONING=1).
        if bucket["versioned"] and os.environ.get("LOCAL_S3_VERSIONING") == "1":
            s3.put_bucket_versioning(Bucket=bucket["name"], VersioningConfiguration={"Status": "Enabled"})


def provision_tables(template: dict) -> None:
    dynamodb = client("dynamodb")
    tables = set(dynamodb.list_tables().get("TableNames", []))
    for table, schema in cfn.tables(template).items():
        if table in tables:
            # A running stack keeps its items; a key the template changed since is not applied
            # silently over them.
            described = dynamodb.describe_table(TableName=table)["Table"]
            types = {a["AttributeName"]: a["AttributeType"] for a in described["AttributeDefinitions"]}
            keys = [(k["AttributeName"], k["KeyType"], types.get(k["AttributeName"])) for k in described["KeySchema"]]
            wanted_types = dict(schema["attributes"])
            wanted = [(n, k, wanted_types.get(n)) for n, k in schema["keys"]]
            if keys != wanted:
                raise SystemExit(f"[provision] table {table} exists with key {keys}, the template says {wanted}: "
                                 "make stack-down (the emulator keeps nothing) and make stack-up again")
            continue
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in schema["attributes"]],
            KeySchema=[{"AttributeName": n, "KeyType": k} for n, k in schema["keys"]],
            BillingMode="PAY_PER_REQUEST",
        )
        print(f"[provision] table {table} {schema['keys']}")


def provision_identities() -> None:
    ses = client("ses")
    verified = set(ses.list_identities().get("Identities", []))
    for identity in IDENTITIES:
        if identity not in verified:
            ses.verify_email_identity(EmailAddress=identity)
            print(f"[provision] verified SES identity {identity}")


def provision_state_machines(template: dict, template_path: Path, sfn_endpoint: str, api_url: str) -> None:
    """Created, or updated to the template's definition when they exist (a stack left up
    across a change of definition follows it)."""
    sfn = client("stepfunctions", sfn_endpoint)
    existing = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines(maxResults=1000)["stateMachines"]}
    for machine in cfn.state_machines(template, template_path, api_url):
        if machine["name"] in existing:
            sfn.update_state_machine(stateMachineArn=existing[machine["name"]], definition=machine["definition"])
            print(f"[provision] state machine {machine['name']} updated")
        else:
            sfn.create_state_machine(name=machine["name"], definition=machine["definition"], type=machine["type"],
                                     roleArn=f"arn:aws:iam::{ACCOUNT}:role/{machine['name']}-local")
            print(f"[provision] state machine {machine['name']}")


def provision_notifications(template: dict) -> list[dict]:
    """S3 -> Lambda, locally S3 -> SQS -> pump -> Lambda: one queue per notified function."""
    s3, sqs = client("s3"), client("sqs")
    pumps, by_bucket = [], {}
    for notification in cfn.s3_notifications(template):
        function = notification["function"]
        # 60 s: the pump shortens it itself when an invocation fails, to retry sooner.
        queue_url = sqs.create_queue(QueueName=f"{function}-s3-events", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        failed_url = sqs.create_queue(QueueName=f"{function}-failed-events")["QueueUrl"]
        rules = [{"Name": n, "Value": notification[n]} for n in ("prefix", "suffix") if notification[n]]
        by_bucket.setdefault(notification["bucket"], []).append({
            "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{function}-s3-events",
            "Events": notification["events"],
            "Filter": {"Key": {"FilterRules": rules}},
        })
        pumps.append({"queueUrl": queue_url, "deadLetterQueueUrl": failed_url, "function": function,
                      "maxAttempts": 1 + int(notification["max_retries"])})
    for bucket, queues in by_bucket.items():
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": queues})
        print(f"[provision] s3://{bucket} notifies {[q['QueueArn'].rsplit(':', 1)[1] for q in queues]}")
    return pumps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=cfn.TEMPLATE)
    parser.add_argument("--state-dir", type=Path, default=cfn.ROOT / ".stack")
    parser.add_argument("--sfn-endpoint", help="sfn-local's URL: register the template's state machines there")
    parser.add_argument("--api-url", default="http://127.0.0.1:3000", help="the local HTTP API (PUBLIC_BASE_URL)")
    args = parser.parse_args()
    template = cfn.load(args.template)
    provision_buckets(template)
    provision_tables(template)
    provision_identities()
    if args.sfn_endpoint:
        provision_state_machines(template, args.template, args.sfn_endpoint, args.api_url)
    pumps = provision_notifications(template)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    (args.state_dir / "routes.json").write_text(json.dumps(cfn.routes(template), indent=2) + "\n")
    (args.state_dir / "pump.json").write_text(json.dumps(pumps, indent=2) + "\n")
    print(f"[provision] {len(cfn.routes(template))} HTTP API routes, {len(pumps)} S3 event queues")
    return 0


if __name__ == "__main__":
    sys.exit(main())
