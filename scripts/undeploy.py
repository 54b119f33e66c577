"""Empties the stack's two buckets (every object version and delete marker) so that
`sam delete` can remove them. Reads the stack name and region from infra/samconfig.toml,
which the first `make deploy` wrote."""

import sys
import tomllib
from pathlib import Path

import boto3

CONFIG = Path(__file__).resolve().parent.parent / "infra" / "samconfig.toml"
BUCKET_OUTPUTS = ("UploadBucketName", "ArchiveBucketName")


def main() -> int:
    if not CONFIG.exists():
        print(f"{CONFIG} not found: nothing was deployed from this checkout", file=sys.stderr)
        return 1
    params = tomllib.loads(CONFIG.read_text())["default"]["deploy"]["parameters"]
    session = boto3.Session(region_name=params.get("region"))
    stack = session.client("cloudformation").describe_stacks(StackName=params["stack_name"])["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    s3 = session.resource("s3")
    for key in BUCKET_OUTPUTS:
        if key in outputs:
            bucket = s3.Bucket(outputs[key])
            bucket.object_versions.delete()
            print(f"emptied s3://{bucket.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
