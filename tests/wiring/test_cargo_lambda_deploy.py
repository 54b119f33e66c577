"""`cargo lambda deploy <binary>` updates one function alone and leaves it as the template
describes it: checked on the metadata, and for real, with cargo-lambda deploying every
binary into a Lambda emulator (moto, in this process) where the template's functions exist."""

import io
import json
import os
import shutil
import socket
import struct
import subprocess
import zipfile
from pathlib import Path

import boto3
import pytest

import template as cfn_template
from deploy_metadata import check_deploy_metadata, template_functions

ROOT = Path(__file__).resolve().parents[2]
CARGO_LAMBDA = shutil.which("cargo-lambda", path=str(ROOT / ".venv" / "bin")) or shutil.which("cargo-lambda")
STACK = "wired"


def template() -> dict:
    return cfn_template.load(ROOT / "infra" / "template.yaml")


def test_every_function_has_the_templates_settings_for_cargo_lambda_deploy():
    assert check_deploy_metadata(template(), ROOT / "Cargo.toml") == []


@pytest.mark.parametrize(
    "old, new, reported",
    [
        ("[workspace.metadata.lambda.bin.csv-processor.deploy]\nmemory = 512", "[workspace.metadata.lambda.bin.csv-processor.deploy]\nmemory = 256",
         "csv-processor: cargo lambda deploy sets memory 256, the template 512"),
        ("[workspace.metadata.lambda.bin.file-mover.deploy]\nmemory = 128\ntimeout = 300", "[workspace.metadata.lambda.bin.file-mover.deploy]\nmemory = 128\ntimeout = 30",
         "file-mover: cargo lambda deploy sets timeout 30, the template 300"),
        ("[workspace.metadata.lambda.bin.emailer.deploy]\nmemory = 128\ntimeout = 10\ntracing = \"active\"\nmerge_env = true",
         "[workspace.metadata.lambda.bin.emailer.deploy]\nmemory = 128\ntimeout = 10\ntracing = \"active\"",
         "emailer: without merge_env = true"),
        ("[workspace.metadata.lambda.bin.signup-confirm.deploy]", "[workspace.metadata.lambda.bin.signup-confirmed.deploy]",
         "signup-confirm: no [workspace.metadata.lambda.bin.signup-confirm.deploy]"),
    ],
    ids=["memory", "timeout", "merge_env", "renamed-binary"],
)
def test_a_drift_between_the_metadata_and_the_template_is_reported(tmp_path, old, new, reported):
    manifest = tmp_path / "Cargo.toml"
    text = (ROOT / "Cargo.toml").read_text()
    assert old in text, f"{old!r} is no longer in Cargo.toml: the test breaks nothing"
    manifest.write_text(text.replace(old, new, 1))
    assert any(reported in p for p in check_deploy_metadata(template(), manifest))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lambda_emulator():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def arm64_elf() -> bytes:
    """An ELF header for AArch64: cargo-lambda reads the architecture to deploy from it."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    return ident + struct.pack("<HHIQQQIHHHHHH", 2, 0xB7, 1, 0, 0, 0, 0, 64, 56, 0, 64, 0, 0)


def create_as_sam_would_but_stale(client, iam, name: str, fn: dict) -> None:
    """The function as a first `sam deploy` left it, then changed by hand (memory, timeout)."""
    role = iam.create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("bootstrap", arm64_elf())
    environment = {k: f"resolved-{k.lower()}" for k in fn["environment"]}
    client.create_function(
        FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": code.getvalue()},
        Architectures=fn["architectures"], MemorySize=1024, Timeout=1, Environment={"Variables": environment},
    )


@pytest.mark.skipif(CARGO_LAMBDA is None, reason="cargo-lambda is not installed (make setup)")
def test_cargo_lambda_deploy_leaves_every_function_as_the_template_describes(tmp_path, lambda_emulator):
    credentials = {"region_name": "us-east-1", "aws_access_key_id": "test", "aws_secret_access_key": "test"}
    client = boto3.client("lambda", endpoint_url=lambda_emulator, **credentials)
    iam = boto3.client("iam", endpoint_url=lambda_emulator, **credentials)
    env = dict(os.environ, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_EC2_METADATA_DISABLED="true")
    functions = template_functions(template())
    for binary, fn in functions.items():
        name = f"{STACK}-{binary}"  # the template's FunctionName: ${AWS::StackName}-<binary>
        create_as_sam_would_but_stale(client, iam, name, fn)
        (tmp_path / binary).mkdir()
        (tmp_path / binary / "bootstrap").write_bytes(arm64_elf())
        before = client.get_function_configuration(FunctionName=name)["Environment"]["Variables"] if fn["environment"] else {}

        run = subprocess.run(
            [CARGO_LAMBDA, "lambda", "deploy", "--manifest-path", str(ROOT / "Cargo.toml"), "--lambda-dir", str(tmp_path),
             "--endpoint-url", lambda_emulator, "--binary-name", binary, name],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert run.returncode == 0, f"cargo lambda deploy {binary}: {run.stderr[-2000:]}"

        deployed = client.get_function_configuration(FunctionName=name)
        assert (deployed["MemorySize"], deployed["Timeout"]) == (fn["memory"], fn["timeout"]), binary
        assert deployed["Architectures"] == ["arm64"], binary
        assert deployed.get("Environment", {}).get("Variables", {}) == before, f"{binary}: its environment changed"
