"""Provision the local stack's resources (DESIGN.md, "Resource names"): buckets, tables
and verified SES identities. Idempotent: what exists is left as it is."""

import os
import sys

import boto3

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
REGION = "us-east-1"


def env(name: str, default: str) -> str:
    return os.environ.get(name) or default


TABLES = {
    env("SENSOR_TABLE", "sensor_data"): [("sensor_id", "S", "HASH"), ("timestamp", "N", "RANGE")],
    env("USERS_TABLE", "users"): [("userId", "S", "HASH")],
    env("CUSTOMERS_TABLE", "customers"): [("customerId", "S", "HASH")],
    env("STUDENTS_TABLE", "students"): [("email", "S", "HASH")],
    env("COURSES_TABLE", "courses"): [("courseId", "S", "HASH")],
    env("PAYMENTS_TABLE", "payments"): [("paymentId", "S", "HASH")],
    env("ENROLLMENTS_TABLE", "enrollments"): [("courseId", "S", "HASH"), ("email", "S", "RANGE")],
}
BUCKETS = [env("SOURCE_BUCKET", "sensor-uploads"), env("TARGET_BUCKET", "sensor-archive")]
IDENTITIES = [env("SENDER_EMAIL", "no-reply@example.com"), env("REPORT_EMAIL", "ops@example.com")]


def client(service: str):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def main() -> int:
    s3 = client("s3")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in BUCKETS:
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
            print(f"[provision] bucket {bucket}")

    dynamodb = client("dynamodb")
    tables = set(dynamodb.list_tables().get("TableNames", []))
    for table, keys in TABLES.items():
        if table in tables:
            continue
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t, _ in keys],
            KeySchema=[{"AttributeName": n, "KeyType": k} for n, _, k in keys],
            BillingMode="PAY_PER_REQUEST",
        )
        print(f"[provision] table {table}")

    ses = client("ses")
    verified = set(ses.list_identities().get("Identities", []))
    for identity in IDENTITIES:
        if identity not in verified:
            ses.verify_email_identity(EmailAddress=identity)
            print(f"[provision] verified SES identity {identity}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
