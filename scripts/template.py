"""What the local stack needs from infra/template.yaml (the one description of the cloud
side): tables with their key schemas, buckets, the HTTP API's routes and the S3 notifications
of functions, with local names overridable by the DESIGN.md environment variables."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"

# The template lets CloudFormation name the buckets; locally they have DESIGN.md's names.
LOCAL_BUCKETS = {"UploadBucket": ("SOURCE_BUCKET", "sensor-uploads"), "ArchiveBucket": ("TARGET_BUCKET", "sensor-archive")}


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref X -> {"Ref": "X"}, !GetAtt A.B, ...)."""


def _construct_tag(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load(path: Path = TEMPLATE) -> dict:
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_CfnLoader)


def _resources(template: dict, kind: str) -> dict:
    return {lid: res for lid, res in template.get("Resources", {}).items() if res.get("Type") == kind}


def _snake_upper(logical_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id).upper()


def _local_name(value, logical_id: str) -> str:
    """`!Sub "${AWS::StackName}-users"` -> "users" (locally there is no stack to prefix)."""
    text = value.get("Fn::Sub") if isinstance(value, dict) else value
    if isinstance(text, list):
        text = text[0]
    if not isinstance(text, str) or not text:
        raise ValueError(f"{logical_id}: cannot tell its local name from {value!r}")
    return text.replace("${AWS::StackName}-", "")


def tables(template: dict) -> dict[str, dict]:
    """Local table name -> {"attributes": [(name, type)], "keys": [(name, HASH|RANGE)]}.
    A table's name is overridable by the UPPER_SNAKE of its logical id (SensorTable -> SENSOR_TABLE)."""
    found = {}
    for logical_id, res in _resources(template, "AWS::DynamoDB::Table").items():
        props = res.get("Properties", {})
        name = os.environ.get(_snake_upper(logical_id)) or _local_name(props.get("TableName"), logical_id)
        keys = [(k["AttributeName"], k["KeyType"]) for k in props.get("KeySchema", [])]
        key_names = {n for n, _ in keys}
        attributes = [(a["AttributeName"], a["AttributeType"]) for a in props.get("AttributeDefinitions", [])]
        found[name] = {"attributes": [a for a in attributes if a[0] in key_names], "keys": keys}
    return found


def buckets(template: dict) -> dict[str, dict]:
    """Logical id -> {"name", "versioned"}."""
    found = {}
    for logical_id, res in _resources(template, "AWS::S3::Bucket").items():
        if logical_id not in LOCAL_BUCKETS:
            raise ValueError(f"bucket {logical_id}: add its local name and variable to LOCAL_BUCKETS in {__file__}")
        variable, default = LOCAL_BUCKETS[logical_id]
        status = res.get("Properties", {}).get("VersioningConfiguration", {}).get("Status")
        found[logical_id] = {"name": os.environ.get(variable) or default, "versioned": status == "Enabled"}
    return found


def binary_of(template: dict, logical_id: str) -> str:
    res = template.get("Resources", {}).get(logical_id, {})
    binary = res.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
    if not binary:
        raise ValueError(f"{logical_id}: no Metadata.BuildProperties.Binary")
    return binary


def _function_of(value) -> str | None:
    """The function logical id an integration URI names (!GetAtt X.Arn, !Ref X, ${X.Arn})."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
        if "Ref" in value:
            return value["Ref"]
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            match = re.search(r"\$\{(\w+)\.Arn\}", text)
            return match.group(1) if match else None
    return None


def routes(template: dict) -> dict[str, str]:
    """The HTTP API's route keys -> the binary each one's integration invokes."""
    integrations = _resources(template, "AWS::ApiGatewayV2::Integration")
    found = {}
    for logical_id, res in _resources(template, "AWS::ApiGatewayV2::Route").items():
        props = res["Properties"]
        target = props.get("Target", {})
        text = target.get("Fn::Sub") if isinstance(target, dict) else target
        match = re.fullmatch(r"integrations/\$\{(\w+)\}", text or "")
        if not match or match.group(1) not in integrations:
            raise ValueError(f"route {logical_id}: target {target!r} names no integration of the template")
        function = _function_of(integrations[match.group(1)]["Properties"].get("IntegrationUri"))
        if function is None:
            raise ValueError(f"integration {match.group(1)}: its IntegrationUri names no function")
        found[props["RouteKey"]] = binary_of(template, function)
    return found


def s3_notifications(template: dict) -> list[dict]:
    """Each function's S3 event: {"function", "bucket" (local name), "events", "prefix", "suffix", "max_retries"}."""
    local_buckets = buckets(template)
    found = []
    for logical_id, res in _resources(template, "AWS::Serverless::Function").items():
        props = res.get("Properties", {})
        for event in props.get("Events", {}).values():
            if event.get("Type") != "S3":
                continue
            spec = event["Properties"]
            bucket = spec["Bucket"]["Ref"]
            rules = {r["Name"]: r["Value"] for r in spec.get("Filter", {}).get("S3Key", {}).get("Rules", [])}
            events = spec["Events"] if isinstance(spec["Events"], list) else [spec["Events"]]
            retries = props.get("EventInvokeConfig", {}).get("MaximumRetryAttempts", 2)
            found.append({
                "function": binary_of(template, logical_id),
                "bucket": local_buckets[bucket]["name"],
                "events": events,
                "prefix": rules.get("prefix", ""),
                "suffix": rules.get("suffix", ""),
                "max_retries": retries,
            })
    return found
