"""`cargo lambda deploy <binary>` must leave a function as infra/template.yaml describes it:
the workspace's `[workspace.metadata.lambda.bin.<binary>.deploy]` tables carry each function's
memory, timeout and tracing, and `merge_env` so the environment the template set is kept."""

from __future__ import annotations

import tomllib
from pathlib import Path

import template as cfn_template


def template_functions(template: dict) -> dict[str, dict]:
    """Binary -> {"memory", "timeout", "tracing", "architectures", "environment"} as deployed."""
    defaults = template.get("Globals", {}).get("Function", {})
    found = {}
    for logical_id, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res.get("Properties", {})

        def setting(name, fallback=None, props=props):
            return props.get(name, defaults.get(name, fallback))

        found[cfn_template.binary_of(template, logical_id)] = {
            "logical_id": logical_id,
            # Lambda's own defaults when neither the function nor Globals say.
            "memory": setting("MemorySize", 128),
            "timeout": setting("Timeout", 3),
            "tracing": setting("Tracing", "PassThrough"),
            "architectures": setting("Architectures", ["x86_64"]),
            "environment": props.get("Environment", {}).get("Variables", {}),
        }
    return found


def deploy_metadata(manifest: Path) -> dict[str, dict]:
    """Binary -> its `[workspace.metadata.lambda.bin.<binary>.deploy]` table."""
    workspace = tomllib.loads(manifest.read_text(encoding="utf-8")).get("workspace", {})
    bins = workspace.get("metadata", {}).get("lambda", {}).get("bin", {})
    return {name: spec.get("deploy", {}) for name, spec in bins.items()}


def check_deploy_metadata(template: dict, manifest: Path) -> list[str]:
    functions, metadata = template_functions(template), deploy_metadata(manifest)
    problems = []
    for binary, fn in sorted(functions.items()):
        deploy = metadata.get(binary)
        if deploy is None:
            problems.append(f"{binary}: no [workspace.metadata.lambda.bin.{binary}.deploy] for `cargo lambda deploy`")
            continue
        for key in ("memory", "timeout"):
            if deploy.get(key) != fn[key]:
                problems.append(f"{binary}: cargo lambda deploy sets {key} {deploy.get(key)}, the template {fn[key]}")
        if str(deploy.get("tracing", "")).lower() != str(fn["tracing"]).lower():
            problems.append(f"{binary}: cargo lambda deploy sets tracing {deploy.get('tracing')!r}, the template {fn['tracing']!r}")
        if deploy.get("merge_env") is not True:
            problems.append(f"{binary}: without merge_env = true, cargo lambda deploy would drop the environment the template set")
    for binary in sorted(set(metadata) - set(functions)):
        problems.append(f"{binary}: deploy metadata for a binary the template does not deploy")
    return problems
