"""What the local stack needs from infra/template.yaml (the one description of the cloud
side): tables with their key schemas, buckets, the HTTP API's routes and the S3 notifications
of functions, with local names overridable by the DESIGN.md environment variables."""

from __future__ import annotations

import json
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


def stack_values(api_url: str) -> "LocalValues":
    """The names a running stack gave its resources: those of the template it was built from
    (`STACK_TEMPLATE`, else infra/template.yaml), or the DESIGN.md variables overriding them."""
    return LocalValues(load(Path(os.environ.get("STACK_TEMPLATE", TEMPLATE))), api_url)


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


# ------------------------------------------------------------------ local values of template expressions

REGION = "us-east-1"
ACCOUNT = "123456789012"

# The template's parameters, locally: the DESIGN.md variable that overrides each, and its default.
LOCAL_PARAMETERS = {
    "SenderEmail": ("SENDER_EMAIL", "no-reply@example.com"),
    "ReportEmail": ("REPORT_EMAIL", "ops@example.com"),
    "PushApplicationId": ("PINPOINT_APP_ID", "local-app"),
}


class LocalValues:
    """Resolves template expressions (Ref, GetAtt .Arn/.Name, Sub) to what the local stack
    uses: functions are the local Lambda's binaries, state machines sfn-local's, tables and
    buckets their local names, the HTTP API the local gateway at `api_url`."""

    def __init__(self, template: dict, api_url: str):
        self.template, self.api_url = template, api_url
        self.resources = template.get("Resources", {})
        self.table_names = {
            lid: os.environ.get(_snake_upper(lid)) or _local_name(res.get("Properties", {}).get("TableName"), lid)
            for lid, res in _resources(template, "AWS::DynamoDB::Table").items()
        }
        self.bucket_names = {lid: b["name"] for lid, b in buckets(template).items()}

    def pseudo(self, name: str) -> str:
        values = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com"}
        if name not in values:
            raise ValueError(f"no local value for {name}")
        return values[name]

    def machine_name(self, logical_id: str) -> str:
        return _local_name(self.resources[logical_id].get("Properties", {}).get("Name"), logical_id)

    def ref(self, name: str) -> str:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in LOCAL_PARAMETERS:
            variable, default = LOCAL_PARAMETERS[name]
            return os.environ.get(variable) or default
        kind = self.resources.get(name, {}).get("Type")
        if kind == "AWS::DynamoDB::Table":
            return self.table_names[name]
        if kind == "AWS::S3::Bucket":
            return self.bucket_names[name]
        if kind == "AWS::Serverless::StateMachine":
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.machine_name(name)}"
        if kind == "AWS::Serverless::Function":
            return binary_of(self.template, name)
        raise ValueError(f"no local value for !Ref {name} ({kind or 'not a resource of the template'})")

    def get_att(self, name: str, attribute: str) -> str:
        kind = self.resources.get(name, {}).get("Type")
        if kind == "AWS::Serverless::Function" and attribute == "Arn":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{binary_of(self.template, name)}"
        if kind == "AWS::Serverless::StateMachine" and attribute == "Name":
            return self.machine_name(name)
        if kind == "AWS::Serverless::StateMachine" and attribute == "Arn":
            return self.ref(name)
        raise ValueError(f"no local value for !GetAtt {name}.{attribute}")

    def sub(self, text: str, variables: dict | None = None) -> str:
        # The HTTP API's URL is the local gateway's, however the template spells its cloud form.
        if re.fullmatch(r"https://\$\{HttpApi\}\.execute-api\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}/?", text):
            return self.api_url
        # Locally nothing is prefixed by a stack name: "${AWS::StackName}-csv-processor" -> "csv-processor".
        text = text.replace("${AWS::StackName}-", "")

        def one(match: re.Match) -> str:
            name = match.group(1)
            if variables and name in variables:
                return self.resolve(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def resolve(self, value):
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and len(value) == 1:
            (kind, inner), = value.items()
            if kind == "Ref":
                return self.ref(inner)
            if kind == "Fn::GetAtt":
                return self.get_att(*inner)
            if kind == "Fn::Sub":
                return self.sub(inner) if isinstance(inner, str) else self.sub(inner[0], inner[1])
        raise ValueError(f"no local value for {value!r}")


def state_machines(template: dict, template_path: Path, api_url: str) -> list[dict]:
    """Each state machine: {"name" (local), "definition" (text, substitutions resolved), "type"};
    DefinitionUri is relative to the template's folder, as for `sam build`."""
    values = LocalValues(template, api_url)
    found = []
    for logical_id, res in _resources(template, "AWS::Serverless::StateMachine").items():
        props = res.get("Properties", {})
        uri = props.get("DefinitionUri")
        if not isinstance(uri, str):
            raise ValueError(f"{logical_id}: DefinitionUri must be a path to an .asl.json file")
        text = (Path(template_path).parent / uri).read_text(encoding="utf-8")
        substitutions = {k: values.resolve(v) for k, v in props.get("DefinitionSubstitutions", {}).items()}

        def substitute(match: re.Match, logical_id=logical_id, substitutions=substitutions) -> str:
            name = match.group(1)
            if name not in substitutions:
                raise ValueError(f"{logical_id}: ${{{name}}} in {uri} has no DefinitionSubstitutions entry")
            return substitutions[name]

        found.append({
            "logical_id": logical_id,
            "name": values.machine_name(logical_id),
            "definition": re.sub(r"\$\{([^}]+)\}", substitute, text),
            "type": props.get("Type", "STANDARD"),
        })
    return found


def functions(template: dict, api_url: str) -> dict[str, dict]:
    """Each function as the local Lambda runs it, by binary name: its own Environment (Globals
    first), Timeout and MemorySize, resolved to the local names, as Lambda gives each function
    its own configuration."""
    values = LocalValues(template, api_url)
    globals_ = template.get("Globals", {}).get("Function", {})
    found: dict[str, dict] = {}
    for logical_id, res in _resources(template, "AWS::Serverless::Function").items():
        props = res.get("Properties", {})
        variables = {**globals_.get("Environment", {}).get("Variables", {}),
                     **props.get("Environment", {}).get("Variables", {})}
        found[binary_of(template, logical_id)] = {
            "timeoutSeconds": int(props.get("Timeout", globals_.get("Timeout", 3))),
            "memoryMb": int(props.get("MemorySize", globals_.get("MemorySize", 128))),
            "environment": {name: values.resolve(expression) for name, expression in sorted(variables.items())},
        }
    return found


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="What the local stack reads from the SAM template.")
    parser.add_argument("what", choices=["lambda-functions"],
                        help="lambda-functions: each function's environment, timeout and memory, as JSON by binary name")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--api-url", required=True, help="the local HTTP API's URL (PUBLIC_BASE_URL)")
    args = parser.parse_args(argv)
    print(json.dumps(functions(load(args.template), args.api_url), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
