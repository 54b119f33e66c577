"""Just enough reading of the workspace's Rust sources for the wiring checks.

Not a parser: comments and `#[cfg(test)]` modules are blanked, functions are found by
`fn name` and brace matching, and a binary's code is the closure of the functions whose
names appear in its `main` (over its crate and `common`). That over-approximates what a
binary runs, never under-approximates it, which is the safe side for "what must the
template give it".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

KEYWORDS = {
    "as", "async", "await", "break", "const", "continue", "crate", "else", "enum", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while",
}


def blank_comments(text: str) -> str:
    """Comments replaced by spaces (string and char literals kept), so offsets still match."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out[i:end] = " " * (end - i)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out[i:end] = [ch if ch == "\n" else " " for ch in text[i:end]]
            i = end
        else:
            i = _skip_literal(text, i) if c in "\"'r" else i + 1
    return "".join(out)


RAW_STRING = re.compile(r'r(#*)"')
CHAR = re.compile(r"'(\\.[^']*|[^\\'])'")


def _skip_literal(text: str, i: int) -> int:
    """The index after a string/char literal starting at i, or i + 1 if there is none."""
    raw = RAW_STRING.match(text, i)
    if raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
        closing = '"' + raw.group(1)
        end = text.find(closing, i + len(raw.group(0)))
        return len(text) if end < 0 else end + len(closing)
    if text[i] == '"':
        j = i + 1
        while j < len(text) and text[j] != '"':
            j += 2 if text[j] == "\\" else 1
        return j + 1
    if text[i] == "'":
        char = CHAR.match(text, i)
        if char:
            return i + len(char.group(0))
    return i + 1


def matching_brace(text: str, open_at: int) -> int:
    """The index of the `}` closing the `{` at open_at."""
    depth, i = 0, open_at
    while i < len(text):
        c = text[i]
        if c in "\"'r":
            nxt = _skip_literal(text, i)
            if nxt > i + 1:
                i = nxt
                continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text) - 1


def without_test_modules(text: str) -> str:
    for m in reversed(list(re.finditer(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{", text))):
        end = matching_brace(text, m.end() - 1)
        text = text[: m.start()] + " " * (end + 1 - m.start()) + text[end + 1 :]
    return text


def clean_source(path: Path) -> str:
    return without_test_modules(blank_comments(path.read_text(encoding="utf-8")))


@dataclass
class FnDef:
    name: str
    owner: str | None  # the type of the enclosing `impl`, if any
    module: str  # the file's stem (`mod.rs`/`lib.rs`: the folder's / crate's name)
    body: str


IMPL = re.compile(r"\bimpl\b[^{;]*?(\w+)\s*(?:<[^{};]*>)?\s*(?:where[^{]*)?\{")


def functions_in(text: str, module: str) -> list[FnDef]:
    """Every function with a body, with the type whose `impl` holds it."""
    impls = [(m.end() - 1, matching_brace(text, m.end() - 1), m.group(1)) for m in IMPL.finditer(text)]
    found = []
    for m in re.finditer(r"\bfn\s+(\w+)", text):
        i, depth = m.end(), 0
        while i < len(text):
            c = text[i]
            if c in "(<[":
                depth += 1
            elif c in ")>]" and not (c == ">" and text[i - 1] == "-"):
                depth -= 1
            elif depth <= 0 and c == ";":
                break
            elif depth <= 0 and c == "{":
                owner = next((t for a, b, t in impls if a < m.start() < b), None)
                found.append(FnDef(m.group(1), owner, module, text[i : matching_brace(text, i) + 1]))
                break
            i += 1
    return found


def identifiers(text: str) -> set[str]:
    return set(re.findall(r"\b[A-Za-z_]\w*\b", text)) - KEYWORDS


# `path::name(` / `name(` (free or associated function), `.name(` (a method), and a function
# passed by name as an argument (`map_err(object_error)`).
PATH_CALL = re.compile(r"(?<![.\w:])((?:\w+::)*)(\w+)\s*(?:::<[^;{}()]*>)?\s*\(")
METHOD_CALL = re.compile(r"\.(\w+)\s*(?:::<[^;{}()]*>)?\s*\(")
PASSED = re.compile(r"[(,]\s*(\w+)\s*(?=[,)])")
USE = re.compile(r"\buse\s+([\w:]+?)::(?:\{([^}]*)\}|(\w+))\s*;")


def imports(text: str) -> dict[str, str]:
    """Imported name -> the module it comes from (`use signup::confirm::handle` -> confirm)."""
    found = {}
    for path, group, single in USE.findall(text):
        module = path.split("::")[-1]
        for name in (group.split(",") if group else [single]):
            name = name.strip().split(" as ")[-1].strip()
            if re.fullmatch(r"\w+", name):
                found[name] = module
    return found


@dataclass
class CodeIndex:
    """The functions of a crate's library (`own`) and of `common` (`shared`).

    A call resolves by its path (`Type::f`, `module::f`), else by the caller's imports and
    own module, else to every free function of that name. Method calls resolve into the crate
    only: `common`'s methods are the ports' adapters and twins, which take resource names as
    arguments and never read them."""

    own: list[FnDef] = field(default_factory=list)
    shared: list[FnDef] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    uses: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, own_files: list[Path], shared_files: list[Path]) -> "CodeIndex":
        index = cls()
        for files, table in ((own_files, index.own), (shared_files, index.shared)):
            for path in files:
                text = clean_source(path)
                module = path.parent.name if path.stem in ("mod", "lib") else path.stem
                index.sources.append(text)
                index.uses.setdefault(module, {}).update(imports(text))
                table.extend(functions_in(text, module))
        return index

    def _resolve(self, qualifier: list[str], name: str, module: str) -> list[FnDef]:
        every = self.own + self.shared
        named = [f for f in every if f.name == name]
        if qualifier:
            last = qualifier[-1]
            by_owner = [f for f in named if f.owner == last]
            by_module = [f for f in named if f.owner is None and f.module == last]
            return by_owner or by_module or ([f for f in named if f.owner] if last == "Self" else [])
        free = [f for f in named if f.owner is None]
        local = [f for f in free if f.module == module]
        source = self.uses.get(module, {}).get(name)
        imported = [f for f in free if f.module == source]
        return local or imported or free

    def reachable(self, root: str, root_module: str = "<bin>") -> list[str]:
        """root plus the bodies of every function it calls, transitively."""
        self.uses[root_module] = imports(root)
        bodies, seen, pending = [root], set(), [(root, root_module)]
        while pending:
            body, module = pending.pop()
            targets: list[FnDef] = []
            for path, name in PATH_CALL.findall(body):
                if name not in KEYWORDS:
                    targets += self._resolve([q for q in path.split("::") if q], name, module)
            for name in PASSED.findall(body):
                targets += self._resolve([], name, module)
            for name in set(METHOD_CALL.findall(body)):
                targets += [f for f in self.own if f.name == name and f.owner]
            for f in targets:
                if id(f) not in seen:
                    seen.add(id(f))
                    bodies.append(f.body)
                    pending.append((f.body, f.module))
        return bodies


def rust_files(src: Path) -> list[Path]:
    return sorted(p for p in src.rglob("*.rs") if "bin" not in p.relative_to(src).parts)


def binaries(crate_dir: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted((crate_dir / "src" / "bin").glob("*.rs"))}
