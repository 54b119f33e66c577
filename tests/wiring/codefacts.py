"""What a binary's code reads from the environment, which resources it touches and which
error names its crate can raise, read from the Rust sources (see rustscan)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rustscan import CodeIndex

# `field: env.or_default("VAR", ...)`: a variable read into a named field (common::Resources).
FIELD_BOUND = re.compile(r"\b(\w+)\s*:\s*\w+\.or_default\(\s*\"(\w+)\"")
REQUIRED = [
    re.compile(r"\.require\(\s*\"(\w+)\""),
    re.compile(r"state_machine_arn\(\s*&?\w+\s*,\s*\"(\w+)\""),
    re.compile(r"\.or_default\(\s*\"(\w+)\""),
]
# Knobs with a default meant for AWS too, and what the runtime itself provides.
OPTIONAL = [
    re.compile(r"\.parse_or\(\s*\"(\w+)\""),
    re.compile(r"\.get\(\s*\"([A-Z][A-Z0-9_]+)\""),
    re.compile(r"env::var\(\s*\"(\w+)\""),
]
ERROR_NAMES = [
    re.compile(r"\bnamed\(\s*\"([A-Z]\w+)\""),
    re.compile(r"\bfrom_port\([^;]*?,\s*\"([A-Z]\w+)\"\s*\)"),
    re.compile(r"ErrorName::\w+\s*=>\s*\"([A-Z]\w+)\""),
]
NAMED_BY_CONST = re.compile(r"\bnamed\(\s*([A-Z][A-Z0-9_]*)\s*,")
CONST_STR = re.compile(r"\bconst\s+([A-Z][A-Z0-9_]*)\s*:\s*&(?:'static\s+)?str\s*=\s*\"(\w+)\"")


@dataclass
class EnvNeeds:
    required: set[str] = field(default_factory=set)
    optional: set[str] = field(default_factory=set)


def field_variables(index: CodeIndex) -> dict[str, str]:
    """Resource field -> its variable (`sensor_table` -> `SENSOR_TABLE`)."""
    return {f: var for text in index.sources for f, var in FIELD_BOUND.findall(text)}


def _accesses(text: str, name: str):
    """Positions of `.name` read as a field (not a method call)."""
    for m in re.finditer(rf"\.{name}\b(?!\s*[(!])", text):
        yield m.start()


def _renamed_to(text: str, at: int) -> str | None:
    """If the access at `at` initialises a struct field (`alias: x.name`), the alias."""
    start = max(text.rfind(c, 0, at) for c in "{,\n;")
    m = re.match(r"\s*(\w+)\s*:(?!:)\s*[^,;{}=]*$", text[start + 1 : at])
    return m.group(1) if m else None


def aliases(index: CodeIndex, fields: set[str], extra: list[str] = ()) -> dict[str, set[str]]:
    """Struct fields a resource name is copied into (`students: resources.students_table`)
    -> the resource fields they may hold. One level: that is how config plumbing looks."""
    found: dict[str, set[str]] = {}
    for text in [*index.sources, *extra]:
        for name in fields:
            for at in _accesses(text, name):
                alias = _renamed_to(text, at)
                if alias and alias != name and alias not in fields:
                    found.setdefault(alias, set()).add(name)
    return found


@dataclass
class BinaryFacts:
    env: EnvNeeds
    touched: set[str]
    reads_input_object: bool


def binary_facts(index: CodeIndex, bin_source: str) -> BinaryFacts:
    bodies = index.reachable(bin_source)
    variables = field_variables(index)
    alias = aliases(index, set(variables), extra=[bin_source])
    read_fields: set[str] = set()
    touched: set[str] = set()
    env = EnvNeeds()
    for body in bodies:
        for name in variables:
            for at in _accesses(body, name):
                read_fields.add(name)
                # Copying a name into a config struct is plumbing; using it is a touch.
                if _renamed_to(body, at) is None:
                    touched.add(name)
        for name, resources in alias.items():
            if any(True for _ in _accesses(body, name)):
                read_fields |= resources
                touched |= resources
        bound = {var for _, var in FIELD_BOUND.findall(body)}
        for pattern in REQUIRED:
            env.required |= set(pattern.findall(body)) - bound
        for pattern in OPTIONAL:
            env.optional |= set(pattern.findall(body))
    env.required |= {variables[f] for f in read_fields}
    env.optional -= env.required
    reads_input_object = any("bucket_name" in b and OBJECT_READS.search(b) for b in bodies)
    return BinaryFacts(env, touched, reads_input_object)


# The port methods that read an object from a bucket the function's input names.
OBJECT_READS = re.compile(r"\.(open|head|copy)\s*\(")


def raisable_errors(index: CodeIndex) -> set[str]:
    names: set[str] = set()
    consts: dict[str, str] = {}
    for text in index.sources:
        consts.update(CONST_STR.findall(text))
    for text in index.sources:
        for pattern in ERROR_NAMES:
            names |= set(pattern.findall(text))
        names |= {consts[c] for c in NAMED_BY_CONST.findall(text) if c in consts}
    return names
