"""Offline checks that infra/template.yaml, statemachines/*.asl.json and the Rust workspace
agree: every check is a function returning the problems it found (empty when wired right).

Conventions read from the template (see its header): a function's logical id is its
binary's name in PascalCase + "Function"; a state machine's substitution for a function is
"<logical id>Arn"; Metadata.BuildProperties.Binary names the binary, CodeUri its crate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import template as cfn_template  # scripts/template.py: one reading of the template for stack and checks
from codefacts import BinaryFacts, binary_facts, field_variables, raisable_errors
from rustscan import CodeIndex, binaries, clean_source, rust_files

# The names a Retry/Catch may use without any code raising them: Step Functions' and Lambda's
# own, and the function errors Lambda itself writes when a runtime dies, times out or cannot
# start (Runtime.ExitError, Sandbox.Timedout, Runtime.InvalidEntrypoint, ...).
SERVICE_ERROR_PREFIXES = ("States.", "Lambda.", "Runtime.", "Sandbox.")

# Where the code names a resource without touching it (so no policy is owed), and why.
NAMED_ONLY = {
    ("emailer", "target_bucket"): "the report names s3://<archive>/rejected/...; the emailer never reads the bucket",
}



def load_template(path: Path) -> dict:
    """The template as the local stack reads it (CloudFormation's short forms included)."""
    return cfn_template.load(path)


def pascal(binary: str) -> str:
    return "".join(part.capitalize() for part in binary.split("-"))


def references(value) -> set[str]:
    """Logical ids a template value refers to (Ref, GetAtt, ${X} / ${X.Attr} in Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add(inner[0] if isinstance(inner, list) else str(inner).split(".")[0])
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text) if not m.startswith("AWS::")}
                if isinstance(inner, list):
                    found |= references(inner[1])
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def asl_placeholders(text: str) -> set[str]:
    return set(re.findall(r"\$\{(\w+)\}", text))


def asl_error_names(definition: dict) -> tuple[set[str], set[str]]:
    """(names in Retry/Catch ErrorEquals, names of Fail states' Error) of a definition."""
    caught, failed = set(), set()

    def walk(states: dict):
        for state in states.values():
            for rule in state.get("Retry", []) + state.get("Catch", []):
                caught.update(rule.get("ErrorEquals", []))
            if state.get("Type") == "Fail" and "Error" in state:
                failed.add(state["Error"])
            for branch in state.get("Branches", []):
                walk(branch.get("States", {}))
            for key in ("Iterator", "ItemProcessor"):
                if key in state:
                    walk(state[key].get("States", {}))

    walk(definition.get("States", {}))
    return caught, failed


@dataclass
class Function:
    logical_id: str
    binary: str
    crate: str
    env: dict
    policies: list
    events: dict


@dataclass
class StateMachine:
    logical_id: str
    asl_path: Path
    substitutions: dict


class Project:
    """The template, the definitions and the workspace, as the checks see them."""

    def __init__(self, root: Path, template: dict, skip_crates: frozenset[str] = frozenset()):
        self.root = root
        self.template = template
        self.infra = root / "infra"
        # Workflow crates not in this checkout yet: their functions and state machines are left out.
        self.skip_crates = skip_crates

    @property
    def resources(self) -> dict:
        return self.template.get("Resources", {})

    def crate_dir(self, code_uri: str) -> Path:
        return (self.infra / code_uri).resolve()

    @cached_property
    def functions(self) -> dict[str, Function]:
        found = {}
        for logical_id, res in self.resources.items():
            if res.get("Type") != "AWS::Serverless::Function":
                continue
            props = res.get("Properties", {})
            binary = res.get("Metadata", {}).get("BuildProperties", {}).get("Binary", "")
            crate = self.crate_dir(props.get("CodeUri", "")).name
            if crate in self.skip_crates:
                continue
            found[logical_id] = Function(
                logical_id=logical_id,
                binary=binary,
                crate=crate,
                env=props.get("Environment", {}).get("Variables", {}),
                policies=props.get("Policies", []),
                events=props.get("Events", {}),
            )
        return found

    @cached_property
    def state_machines(self) -> dict[str, StateMachine]:
        found = {}
        for logical_id, res in self.resources.items():
            if res.get("Type") == "AWS::Serverless::StateMachine":
                props = res.get("Properties", {})
                subs = props.get("DefinitionSubstitutions", {})
                skipped = {fid for fid, r in self.resources.items() if self.crate_dir(r.get("Properties", {}).get("CodeUri", "")).name in self.skip_crates}
                if subs and all(k.removesuffix("Arn") in skipped for k in subs):
                    continue
                found[logical_id] = StateMachine(logical_id, (self.infra / props.get("DefinitionUri", "")).resolve(), subs)
        return found

    @cached_property
    def workflow_crates(self) -> dict[str, Path]:
        """Crates holding Lambda binaries (src/bin/*.rs and a lambda_runtime dependency)."""
        crates = {}
        for manifest in sorted((self.root / "crates").glob("*/Cargo.toml")):
            if "lambda_runtime" in manifest.read_text() and binaries(manifest.parent):
                crates[manifest.parent.name] = manifest.parent
        return crates

    def crate_index(self, crate: str) -> CodeIndex:
        return _index(self.root / "crates" / crate, self.root / "crates" / "common")

    def bin_source(self, fn: Function) -> str | None:
        path = self.root / "crates" / fn.crate / "src" / "bin" / f"{fn.binary}.rs"
        return clean_source(path) if path.exists() else None

    def function_named_by(self, value) -> str | None:
        """The function a template value points at: Ref/GetAtt of it, or an ARN built from its FunctionName."""
        for ref in references(value):
            if ref in self.functions:
                return ref
        text = value.get("Fn::Sub") if isinstance(value, dict) else None
        if isinstance(text, str):
            for fid, res in self.resources.items():
                name = res.get("Properties", {}).get("FunctionName", {})
                if isinstance(name, dict) and isinstance(name.get("Fn::Sub"), str) and text.endswith(":function:" + name["Fn::Sub"]):
                    return fid
        return None

    def invoked_by(self, machine: StateMachine) -> list[Function]:
        names = {self.function_named_by(v) for v in machine.substitutions.values()}
        return [f for fid, f in self.functions.items() if fid in names]

    def facts(self, fn: Function) -> BinaryFacts | None:
        source = self.bin_source(fn)
        return None if source is None else binary_facts(self.crate_index(fn.crate), source)


_INDEXES: dict[tuple[Path, Path], CodeIndex] = {}


def _index(crate_dir: Path, common_dir: Path) -> CodeIndex:
    key = (crate_dir, common_dir)
    if key not in _INDEXES:
        shared = rust_files(common_dir / "src") if crate_dir != common_dir else []
        _INDEXES[key] = CodeIndex.of(rust_files(crate_dir / "src"), shared)
    return _INDEXES[key]


# ---------------------------------------------------------------- policies as statements

SAM_POLICY_TEMPLATES = {
    "StepFunctionsExecutionPolicy": ("StateMachineName", ["states:StartExecution"]),
    "DynamoDBCrudPolicy": ("TableName", ["dynamodb:*"]),
    "DynamoDBReadPolicy": ("TableName", ["dynamodb:GetItem"]),
    "DynamoDBWritePolicy": ("TableName", ["dynamodb:PutItem"]),
    "S3ReadPolicy": ("BucketName", ["s3:GetObject"]),
    "S3WritePolicy": ("BucketName", ["s3:PutObject"]),
    "S3CrudPolicy": ("BucketName", ["s3:*"]),
    "LambdaInvokePolicy": ("FunctionName", ["lambda:InvokeFunction"]),
}


def statements(policies: list) -> list[tuple[list[str], set[str], object]]:
    """(actions, logical ids the resources name, raw resource) of every statement."""
    found = []
    for policy in policies:
        if not isinstance(policy, dict):
            continue
        for name, (key, actions) in SAM_POLICY_TEMPLATES.items():
            if name in policy:
                target = policy[name].get(key)
                found.append((actions, references(target), target))
        body = policy.get("Statement", [])
        for st in [body] if isinstance(body, dict) else body:
            actions = st.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            resource = st.get("Resource", [])
            found.append((actions, references(resource), resource))
    return found


def grants(policies: list, action_prefix: str, logical_id: str | None = None) -> bool:
    return any(
        any(a.startswith(action_prefix) or a == "*" for a in actions) and (logical_id is None or logical_id in refs)
        for actions, refs, _ in statements(policies)
    )


# ---------------------------------------------------------------- the checks

def check_binaries(project: Project) -> list[str]:
    problems = []
    for fid, fn in project.functions.items():
        if not fn.binary:
            problems.append(f"{fid} has no Metadata.BuildProperties.Binary")
            continue
        if not (project.root / "crates" / fn.crate / "src" / "bin" / f"{fn.binary}.rs").exists():
            problems.append(f"{fid} builds binary {fn.binary}, which crates/{fn.crate}/src/bin/ does not define")
        if fid != pascal(fn.binary) + "Function":
            problems.append(f"{fid} builds {fn.binary}: its logical id should be {pascal(fn.binary)}Function")
    built = {(fn.crate, fn.binary) for fn in project.functions.values()}
    for crate, crate_dir in project.workflow_crates.items():
        if crate in project.skip_crates:
            continue
        for binary in binaries(crate_dir):
            if (crate, binary) not in built:
                problems.append(f"binary {binary} (crates/{crate}) has no function in the template")
    return problems


def check_substitutions(project: Project) -> list[str]:
    problems = []
    for mid, machine in project.state_machines.items():
        if not machine.asl_path.exists():
            problems.append(f"{mid}: DefinitionUri {machine.asl_path.name} does not exist")
            continue
        used = asl_placeholders(machine.asl_path.read_text(encoding="utf-8"))
        for name in sorted(used - set(machine.substitutions)):
            problems.append(f"{mid}: ${{{name}}} in {machine.asl_path.name} has no DefinitionSubstitutions entry")
        for name in sorted(set(machine.substitutions) - used):
            problems.append(f"{mid}: substitution {name} is not used by {machine.asl_path.name}")
        for name, value in machine.substitutions.items():
            target = project.function_named_by(value)
            if name.endswith("FunctionArn") and target != name.removesuffix("Arn"):
                problems.append(f"{mid}: {name} points at {target or 'no function of the template'}")
        invokable = {project.function_named_by(r) for actions, _, res in statements(_policies_of(project, mid))
                     if "lambda:InvokeFunction" in actions for r in (res if isinstance(res, list) else [res])}
        invoked = {f.logical_id for f in project.invoked_by(machine)}
        if invokable != invoked:
            problems.append(f"{mid} may invoke {sorted(filter(None, invokable))} but its definition invokes {sorted(invoked)}")
    return problems


def _policies_of(project: Project, logical_id: str) -> list:
    return project.resources[logical_id].get("Properties", {}).get("Policies", [])


def check_environment(project: Project) -> list[str]:
    problems = []
    for fid, fn in project.functions.items():
        facts = project.facts(fn)
        if facts is None:
            continue
        for var in sorted(facts.env.required - set(fn.env)):
            problems.append(f"{fid} ({fn.binary}) reads {var}, which the template does not set")
        for var in sorted(set(fn.env) - facts.env.required - facts.env.optional):
            problems.append(f"{fid} ({fn.binary}) is given {var}, which its code never reads")
    return problems


def check_error_names(project: Project) -> list[str]:
    problems = []
    for mid, machine in project.state_machines.items():
        if not machine.asl_path.exists():
            continue
        definition = json.loads(machine.asl_path.read_text(encoding="utf-8"))
        caught, failed = asl_error_names(definition)
        raisable = set(failed)
        for fn in project.invoked_by(machine):
            raisable |= raisable_errors(project.crate_index(fn.crate))
        for name in sorted(caught - raisable):
            if not name.startswith(SERVICE_ERROR_PREFIXES):
                problems.append(f"{mid}: {machine.asl_path.name} retries or catches {name}, which none of its functions can raise")
    return problems


ACTIONS_BY_TYPE = {
    "AWS::DynamoDB::Table": "dynamodb:",
    "AWS::S3::Bucket": "s3:",
    "AWS::Serverless::StateMachine": "states:StartExecution",
}
ACTIONS_BY_FIELD = {"sender_email": "ses:SendEmail", "pinpoint_app_id": "mobiletargeting:SendMessages"}


def check_policies(project: Project) -> list[str]:
    problems = []
    variables = None
    for fid, fn in project.functions.items():
        facts = project.facts(fn)
        if facts is None:
            continue
        variables = field_variables(project.crate_index(fn.crate))
        owed: list[tuple[str, str | None, str]] = []  # (action prefix, logical id, why)
        for field_name in sorted(facts.touched):
            if (fn.binary, field_name) in NAMED_ONLY or variables.get(field_name) not in fn.env:
                continue
            var = variables[field_name]
            if field_name in ACTIONS_BY_FIELD:
                owed.append((ACTIONS_BY_FIELD[field_name], None, var))
            for ref in references(fn.env[var]):
                kind = project.resources.get(ref, {}).get("Type")
                if kind in ACTIONS_BY_TYPE:
                    owed.append((ACTIONS_BY_TYPE[kind], ref, var))
        for var in sorted(facts.env.required & set(fn.env) - set(variables.values())):
            for ref in references(fn.env[var]):
                if project.resources.get(ref, {}).get("Type") in ACTIONS_BY_TYPE:
                    owed.append((ACTIONS_BY_TYPE[project.resources[ref]["Type"]], ref, var))
        if facts.reads_input_object:
            for bucket in _trigger_buckets(project, fid):
                owed.append(("s3:", bucket, "the uploaded object its input names"))
        for action, ref, why in owed:
            if not grants(fn.policies, action, ref):
                problems.append(f"{fid} ({fn.binary}) uses {ref or action} ({why}) but its policies grant no {action}* on it")
    return problems


def _trigger_buckets(project: Project, fid: str) -> set[str]:
    """Buckets whose S3 events start a state machine that invokes the function."""
    buckets = set()
    for mid, machine in project.state_machines.items():
        if fid not in {f.logical_id for f in project.invoked_by(machine)}:
            continue
        for starter in project.functions.values():
            if any(mid in references(v) for v in starter.env.values()):
                for event in starter.events.values():
                    if event.get("Type") == "S3":
                        buckets |= references(event.get("Properties", {}).get("Bucket"))
    return buckets


# SAM event sources whose expansion makes the source depend on the function, not the reverse.
REVERSED_EVENTS = {"S3", "Api", "HttpApi"}


def dependencies(project: Project) -> dict[str, set[str]]:
    """Resource -> the resources it depends on once SAM has expanded the template: its
    references and DependsOn, with an S3/Api event turned around (the bucket's notification
    names the function)."""
    graph = {rid: set() for rid in project.resources}
    for rid, res in project.resources.items():
        props = dict(res.get("Properties", {}))
        for event in (props.pop("Events", None) or {}).values():
            targets = references(event.get("Properties", {}))
            if event.get("Type") in REVERSED_EVENTS:
                for target in targets & graph.keys():
                    graph[target].add(rid)
            else:
                graph[rid] |= targets
        depends = res.get("DependsOn", [])
        graph[rid] |= references(props) | set([depends] if isinstance(depends, str) else depends)
    return {rid: deps & graph.keys() for rid, deps in graph.items()}


def check_dependency_cycles(project: Project) -> list[str]:
    """cfn-lint's E3004 does not see through SAM's expansion, nor does `sam validate`."""
    graph, state, problems = dependencies(project), {}, []

    def visit(node: str, path: list[str]):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycle = path[path.index(dep):] + [dep]
                problems.append("dependency cycle: " + " -> ".join(cycle))
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return problems


CHECKS = [check_binaries, check_substitutions, check_environment, check_error_names, check_policies, check_dependency_cycles]


def check_all(project: Project) -> list[str]:
    return [problem for check in CHECKS for problem in check(project)]


def absent_crates(root: Path, template: dict) -> dict[str, str]:
    """Crates the template builds from that have no binaries in this checkout -> why."""
    project = Project(root, template)
    absent = {}
    for fn in project.functions.values():
        crate_dir = root / "crates" / fn.crate
        if not binaries(crate_dir):
            absent[fn.crate] = f"crates/{fn.crate} has no src/bin/*.rs in this checkout (its branch is not merged yet)"
    return absent
