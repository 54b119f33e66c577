"""What the local stack takes from infra/template.yaml (scripts/template.py), offline: every
function's environment and every state machine's definition, resolved to the local names."""

import copy
from pathlib import Path

import pytest

import template as cfn

ROOT = Path(__file__).resolve().parents[2]
API = "http://127.0.0.1:3999"


@pytest.fixture
def template() -> dict:
    return cfn.load(ROOT / "infra" / "template.yaml")


def test_each_function_gets_its_own_environment_timeout_and_memory_resolved_locally(template, monkeypatch):
    monkeypatch.setenv("USERS_TABLE", "users-of-this-run")
    functions = cfn.functions(template, API)
    api = functions["friday-api"]["environment"]
    assert functions["signup-register"]["environment"]["PUBLIC_BASE_URL"] == API
    assert api["USERS_TABLE"] == "users-of-this-run", "DESIGN.md's variables still name the resources"
    assert functions["csv-processor"]["environment"]["SENSOR_TABLE"] == "sensor_data"
    assert functions["file-mover"]["environment"]["TARGET_BUCKET"] == "sensor-archive"
    assert functions["ingest-starter"]["environment"]["CSV_INGEST_STATE_MACHINE_ARN"] == \
        "arn:aws:states:us-east-1:123456789012:stateMachine:csv-ingest"
    assert "SENSOR_TABLE" not in api, "a function sees only the variables the template gives it"
    assert functions["csv-processor"]["timeoutSeconds"] == 900 and functions["csv-processor"]["memoryMb"] == 512
    assert functions["friday-api"]["timeoutSeconds"] == 10, "Globals.Function.Timeout applies"
    for logical_id, res in template["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function":
            declared = set(res["Properties"].get("Environment", {}).get("Variables", {}))
            assert set(functions[cfn.binary_of(template, logical_id)]["environment"]) == declared, logical_id


def test_every_state_machine_is_registered_with_its_substitutions_resolved(template):
    machines = {m["name"]: m for m in cfn.state_machines(template, ROOT / "infra" / "template.yaml", API)}
    assert set(machines) == {"csv-ingest", "friday-reminder", "confirmation-reminder", "course-enrollment"}
    for machine in machines.values():
        assert "${" not in machine["definition"], machine["name"]
        assert machine["type"] == "STANDARD"
    assert "arn:aws:lambda:us-east-1:123456789012:function:csv-processor" in machines["csv-ingest"]["definition"]


def test_a_placeholder_without_a_substitution_is_refused(template):
    changed = copy.deepcopy(template)
    del changed["Resources"]["CsvIngestStateMachine"]["Properties"]["DefinitionSubstitutions"]["EmailerFunctionArn"]
    with pytest.raises(ValueError, match=r"\$\{EmailerFunctionArn\} in .* has no DefinitionSubstitutions entry"):
        cfn.state_machines(changed, ROOT / "infra" / "template.yaml", API)


def test_a_value_the_local_stack_cannot_give_is_refused_by_name(template):
    changed = copy.deepcopy(template)
    changed["Resources"]["FridayCheckerFunction"]["Properties"]["Environment"]["Variables"]["X"] = {"Ref": "NoSuchThing"}
    with pytest.raises(ValueError, match="no local value for !Ref NoSuchThing"):
        cfn.functions(changed, API)
