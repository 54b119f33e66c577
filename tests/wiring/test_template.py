"""infra/template.yaml, statemachines/ and the workspace agree (no stack, no AWS), and each
kind of mis-wiring is caught: every breakage below is injected into a copy and must be reported."""

import shutil
from pathlib import Path

import pytest

import wiring

ROOT = Path(__file__).resolve().parents[2]


def project_at(root: Path, skip=True) -> wiring.Project:
    template = wiring.load_template(root / "infra" / "template.yaml")
    absent = frozenset(wiring.absent_crates(root, template)) if skip else frozenset()
    return wiring.Project(root, template, absent)


def test_the_template_is_wired_to_the_code_and_the_definitions():
    assert wiring.check_all(project_at(ROOT)) == []


def test_every_workflow_of_the_template_is_in_this_checkout():
    absent = wiring.absent_crates(ROOT, wiring.load_template(ROOT / "infra" / "template.yaml"))
    if absent:
        pytest.skip("not checked here, their functions and state machines left out: " + "; ".join(absent.values()))
    assert set(project_at(ROOT).state_machines) == {
        "CsvIngestStateMachine", "FridayReminderStateMachine", "ConfirmationReminderStateMachine", "CourseEnrollmentStateMachine"
    }


@pytest.fixture
def copy(tmp_path) -> Path:
    """The template, the definitions and the crates' sources, to break."""
    for part in ("infra", "statemachines"):
        shutil.copytree(ROOT / part, tmp_path / part)
    for crate in (ROOT / "crates").iterdir():
        if (crate / "Cargo.toml").exists():
            shutil.copytree(crate / "src", tmp_path / "crates" / crate.name / "src")
            shutil.copy(crate / "Cargo.toml", tmp_path / "crates" / crate.name / "Cargo.toml")
    return tmp_path


def edit(path: Path, old: str, new: str, count: int = 1):
    text = path.read_text()
    assert text.count(old) >= count, f"{old!r} not in {path.name}: the test no longer breaks anything"
    path.write_text(text.replace(old, new, count))


def problems_in(root: Path) -> list[str]:
    return wiring.check_all(project_at(root))


def assert_reported(root: Path, *fragments: str):
    problems = problems_in(root)
    assert any(all(f in p for f in fragments) for p in problems), problems


TEMPLATE = Path("infra/template.yaml")
FRIDAY_ASL = Path("statemachines/friday-reminder.asl.json")


def test_the_copy_is_clean_before_any_breakage(copy):
    assert problems_in(copy) == []


def test_a_function_whose_binary_does_not_exist(copy):
    edit(copy / TEMPLATE, "Binary: friday-checker", "Binary: friday-check")
    assert_reported(copy, "FridayCheckerFunction builds binary friday-check", "does not define")


def test_a_binary_without_a_function(copy):
    shutil.copy(copy / "crates/friday/src/bin/friday-checker.rs", copy / "crates/friday/src/bin/friday-audit.rs")
    assert_reported(copy, "binary friday-audit (crates/friday) has no function")


def test_a_placeholder_without_a_substitution(copy):
    edit(copy / FRIDAY_ASL, '"FunctionName": "${FridayNotifierFunctionArn}"', '"FunctionName": "${FridayPusherFunctionArn}"')
    assert_reported(copy, "${FridayPusherFunctionArn}", "has no DefinitionSubstitutions entry")
    assert_reported(copy, "substitution FridayNotifierFunctionArn is not used")


def test_a_substitution_naming_the_wrong_function(copy):
    edit(copy / TEMPLATE, "FridayCheckerFunctionArn: !GetAtt FridayCheckerFunction.Arn", "FridayCheckerFunctionArn: !GetAtt FridayNotifierFunction.Arn")
    assert_reported(copy, "FridayCheckerFunctionArn points at FridayNotifierFunction")


def test_a_built_arn_naming_the_wrong_function(copy):
    edit(copy / TEMPLATE, "function:${AWS::StackName}-csv-processor\"\n        FileMover", "function:${AWS::StackName}-file-mover\"\n        FileMover")
    assert_reported(copy, "CsvProcessorFunctionArn points at FileMoverFunction")


def test_a_state_machine_allowed_to_invoke_a_function_it_does_not_use(copy):
    edit(copy / TEMPLATE, "                - !GetAtt FridayNotifierFunction.Arn\n", "                - !GetAtt FridayNotifierFunction.Arn\n                - !GetAtt FridayApiFunction.Arn\n")
    assert_reported(copy, "FridayReminderStateMachine may invoke", "FridayApiFunction")


def test_a_variable_the_code_reads_and_the_template_does_not_set(copy):
    edit(copy / TEMPLATE, "      Environment:\n        Variables:\n          USERS_TABLE: !Ref UsersTable\n      Policies:\n        - Statement:\n            - Sid: ReadUsers",
         "      Environment:\n        Variables:\n          SENSOR_TABLE: !Ref UsersTable\n      Policies:\n        - Statement:\n            - Sid: ReadUsers")
    assert_reported(copy, "FridayCheckerFunction (friday-checker) reads USERS_TABLE, which the template does not set")
    assert_reported(copy, "FridayCheckerFunction (friday-checker) is given SENSOR_TABLE, which its code never reads")


def test_a_new_variable_in_the_code(copy):
    edit(copy / "crates/friday/src/bin/friday-checker.rs", "    common::telemetry::init();\n",
         "    common::telemetry::init();\n    let _audit = Env::process().require(\"AUDIT_QUEUE_URL\")?;\n")
    assert_reported(copy, "FridayCheckerFunction (friday-checker) reads AUDIT_QUEUE_URL")


def test_a_resource_name_read_through_a_config_struct(copy):
    # ProcessorConfig copies SENSOR_TABLE from common::Resources; the writer uses it.
    edit(copy / TEMPLATE, "          SENSOR_TABLE: !Ref SensorTable\n", "")
    assert_reported(copy, "CsvProcessorFunction (csv-processor) reads SENSOR_TABLE")


def test_an_error_name_no_function_raises(copy):
    edit(copy / FRIDAY_ASL, '"States.ALL"', '"UserGone"')
    assert_reported(copy, "friday-reminder.asl.json retries or catches UserGone")


def test_service_error_names_and_fail_states_need_no_code(copy):
    edit(copy / FRIDAY_ASL, '"TransientError"', '"TransientError", "States.Timeout", "Lambda.Unknown", "Sandbox.Timedout"')
    assert not any(name in p for p in problems_in(copy) for name in ("States.Timeout", "Lambda.Unknown", "Sandbox."))


def test_a_table_missing_from_a_policy(copy):
    edit(copy / TEMPLATE, "            - Sid: ReadUsers\n              Effect: Allow\n              Action: dynamodb:GetItem\n              Resource: !GetAtt UsersTable.Arn\n            - Sid: PushThroughTheApp",
         "            - Sid: ReadUsers\n              Effect: Allow\n              Action: dynamodb:GetItem\n              Resource: !GetAtt SensorTable.Arn\n            - Sid: PushThroughTheApp")
    assert_reported(copy, "FridayNotifierFunction (friday-notifier) uses UsersTable (USERS_TABLE)", "dynamodb:")


def test_a_bucket_missing_from_a_policy(copy):
    edit(copy / TEMPLATE, "              Action: [s3:PutObject, s3:AbortMultipartUpload]\n              Resource: !Sub \"${ArchiveBucket.Arn}/rejected/*\"",
         "              Action: [s3:PutObject, s3:AbortMultipartUpload]\n              Resource: !Sub \"${UploadBucket.Arn}/rejected/*\"")
    assert_reported(copy, "CsvProcessorFunction (csv-processor) uses ArchiveBucket (TARGET_BUCKET)")


def test_the_uploaded_object_missing_from_a_policy(copy):
    # The bucket comes from the execution's input, not the environment: the template's
    # S3 event -> ingest-starter -> csv-ingest -> file-mover chain names it.
    edit(copy / TEMPLATE, "              Resource: !Sub \"${UploadBucket.Arn}/incoming/*\"\n            # HEAD",
         "              Resource: !Sub \"${ArchiveBucket.Arn}/incoming/*\"\n            # HEAD")
    edit(copy / TEMPLATE, "Resource: [!GetAtt UploadBucket.Arn, !GetAtt ArchiveBucket.Arn]", "Resource: [!GetAtt ArchiveBucket.Arn]")
    assert_reported(copy, "FileMoverFunction (file-mover) uses UploadBucket (the uploaded object its input names)")


def test_a_state_machine_the_function_may_not_start(copy):
    edit(copy / TEMPLATE, "        - StepFunctionsExecutionPolicy:\n            StateMachineName: !GetAtt FridayReminderStateMachine.Name\n", "")
    assert_reported(copy, "FridayApiFunction (friday-api) uses FridayReminderStateMachine (FRIDAY_REMINDER_STATE_MACHINE_ARN)")


def test_a_push_and_an_email_without_their_actions(copy):
    edit(copy / TEMPLATE, "Action: mobiletargeting:SendMessages", "Action: mobiletargeting:GetApp")
    edit(copy / TEMPLATE, "Action: ses:SendEmail", "Action: ses:SendRawEmail")
    assert_reported(copy, "FridayNotifierFunction", "mobiletargeting:SendMessages")
    assert_reported(copy, "EmailerFunction", "ses:SendEmail")


def test_a_name_only_resource_needs_no_policy_and_the_exemption_is_load_bearing(copy, monkeypatch):
    assert not any("EmailerFunction" in p for p in problems_in(copy))
    monkeypatch.setattr(wiring, "NAMED_ONLY", {})
    assert_reported(copy, "EmailerFunction (emailer) uses ArchiveBucket (TARGET_BUCKET)")


def test_a_crate_without_binaries_is_left_out_and_said_so(copy):
    shutil.rmtree(copy / "crates/friday/src/bin")
    template = wiring.load_template(copy / TEMPLATE)
    assert "friday" in wiring.absent_crates(copy, template)
    project = project_at(copy)
    assert "FridayReminderStateMachine" not in project.state_machines
    assert not any(f.crate == "friday" for f in project.functions.values())
    assert wiring.check_all(project) == []
    assert any("FridayCheckerFunction builds binary" in p for p in wiring.check_all(project_at(copy, skip=False)))


def test_a_dependency_cycle_through_the_buckets_notification(copy):
    # The bucket's notification names ingest-starter, which names csv-ingest, which would name
    # csv-processor, whose policy names the bucket: CloudFormation refuses such a stack, and
    # neither cfn-lint nor `sam validate` sees it through SAM's expansion.
    built = 'CsvProcessorFunctionArn: !Sub "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-csv-processor"'
    edit(copy / TEMPLATE, built, "CsvProcessorFunctionArn: !GetAtt CsvProcessorFunction.Arn")
    assert_reported(copy, "dependency cycle:", "UploadBucket", "IngestStarterFunction", "CsvIngestStateMachine", "CsvProcessorFunction")


def test_a_dependency_cycle_through_the_api_url(copy):
    # What AWS::Serverless::HttpApi events would do: the API names the function, whose
    # environment names the API.
    edit(copy / TEMPLATE, "  HttpApi:\n    Type: AWS::ApiGatewayV2::Api\n    Properties:\n",
         "  HttpApi:\n    Type: AWS::ApiGatewayV2::Api\n    Properties:\n      Target: !GetAtt SignupRegisterFunction.Arn\n")
    assert_reported(copy, "dependency cycle:", "HttpApi", "SignupRegisterFunction")
