"""``steward policy lint``: the policy directory against OPA's format, strict mode and style.

Neither the ``opa`` CLI nor Regal installs from the registries this project can use, so the
lint runs on what does: the real OPA engine (``opa-golib-python-bindings``) and text checks.

* ``opa`` (compile): every module, tests included, parsed as Rego v1 and compiled together
  by OPA, which enforces v1 syntax, duplicate imports, deprecated built-ins and
  ``input``/``data`` shadowing.
* ``strict``: what ``opa check --strict`` adds, from OPA's parse (:mod:`lint_ast`).
* ``fmt``: layout that ``opa fmt`` always produces (tabs, spacing, blank lines). This is a
  subset of ``opa fmt --fail``: a file can pass here and still be reformatted by OPA.
* ``style``: the project's Regal-like rules: package = directory, ``x_test.rego`` beside
  every ``x.rego``, a ``# METADATA`` block before each policy file's package, no
  ``print``, no ``future.keywords`` imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from activities.policy.lint_ast import ModuleParser, check_module
from activities.policy.opa_local import OpaPolicy, Problem, rego_files

# A line that opens a top-level rule: a name, or ``default``, at column 0.
_TOP_RULE = re.compile(r"^(?:default\s+)?[A-Za-z_]\w*")
# Infix operators as opa fmt prints them: one space either side.
_OPERATOR = re.compile(r":=|==|!=|<=|>=|<|>|=")
_COMMA_NO_SPACE = re.compile(r",(?=\S)")
_PACKAGE = re.compile(r"^package\s+(\S+)\s*$", re.MULTILINE)


@dataclass
class LintReport:
    """The outcome of a lint run."""

    directory: Path
    files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the policy directory is clean."""
        return not self.problems


def lint_policy(policy_dir: Path) -> LintReport:
    """Lint every ``.rego`` file under ``policy_dir`` (tests included)."""
    report = LintReport(Path(policy_dir))
    report.files = rego_files(report.directory, tests=True)
    report.problems += OpaPolicy(report.directory, tests=True).problems
    parser = ModuleParser()
    for name in report.files:
        source = (report.directory / name).read_text()
        report.problems += format_problems(name=name, source=source)
        report.problems += layout_problems(name=name, source=source, files=report.files)
        module = parser.parse(name=name, source=source)
        if module is not None:
            report.problems += check_module(name=name, source=source, module=module)
    report.problems.sort(key=lambda p: (p.file or "", p.line or 0, p.source, p.message))
    return report


def _code(line: str, in_raw: bool) -> tuple[str, bool]:
    """Return ``line`` with string contents and comments blanked, and the raw-string state.

    Raw strings (backticks) may span lines, so whether the next line starts inside one is
    carried over.
    """
    out = []
    quote = "`" if in_raw else ""
    escaped = False
    for ch in line:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = ""
                out.append(ch)
            continue
        if ch == "#":
            break
        if ch in '"`':
            quote = ch
        out.append(ch)
    return "".join(out), quote == "`"


def format_problems(*, name: str, source: str) -> list[Problem]:
    """Layout that ``opa fmt`` would change: a necessary, not a sufficient, condition."""
    problems: list[Problem] = []

    def add(line: int, message: str) -> None:
        problems.append(Problem(message, name, line, "fmt"))

    if not source.endswith("\n") or source.endswith("\n\n"):
        add(max(1, source.count("\n")), "the file must end with exactly one newline")
    lines = source.split("\n")[:-1] if source.endswith("\n") else source.split("\n")
    if lines and lines[0] == "":
        add(1, "blank line at the start of the file")
    in_raw = False
    previous_blank = False
    raw_lines = set()
    for number, line in enumerate(lines, start=1):
        started_raw = in_raw
        code, in_raw = _code(line, in_raw)
        if started_raw:
            raw_lines.add(number - 1)
            continue  # inside a raw string: its text is data, not layout
        if line != line.rstrip():
            add(number, "trailing whitespace")
        indent = line[: len(line) - len(line.lstrip())]
        if " " in indent and line.strip():
            add(number, "indent with tabs")
        if not line.strip():
            if previous_blank:
                add(number, "more than one blank line in a row")
            previous_blank = True
            continue
        previous_blank = False
        if _badly_spaced(code.strip()):
            add(number, "one space either side of an operator (:=, =, ==, !=, <, <=, >, >=)")
        if _COMMA_NO_SPACE.search(code.rstrip()):
            add(number, "one space after a comma")
    problems += _rule_spacing(name, lines, raw_lines)
    return problems


def _badly_spaced(code: str) -> bool:
    for match in _OPERATOR.finditer(code):
        before, after = code[: match.start()], code[match.end() :]
        if (before and not before.endswith(" ")) or (after and not after.startswith(" ")):
            return True
    return False


def _rule_spacing(name: str, lines: list[str], raw_lines: set[int]) -> list[Problem]:
    """Top-level statements are separated by one blank line (a comment attaches below it)."""
    problems = []
    for index, line in enumerate(lines):
        if index in raw_lines or not _TOP_RULE.match(line) or line.startswith("import "):
            continue
        above = index - 1
        while above >= 0 and lines[above].startswith("#"):
            above -= 1
        if line.startswith("package ") and above < 0:
            continue
        if above >= 0 and lines[above] != "":
            what = "the package" if line.startswith("package ") else "a rule"
            message = f"a blank line must come before {what} (and its comments)"
            problems.append(Problem(message, name, index + 1, "fmt"))
    for index, line in enumerate(lines[:-1]):
        if line.startswith("package ") and lines[index + 1] != "":
            problems.append(Problem("a blank line must follow the package", name, index + 2, "fmt"))
    return problems


def layout_problems(*, name: str, source: str, files: list[str]) -> list[Problem]:
    """The project's Regal-like rules for where a file sits and what it starts with."""
    problems: list[Problem] = []
    path = Path(name)
    match = _PACKAGE.search(source)
    if match is None:
        return problems  # no package: the compile step reports it
    line = source.count("\n", 0, match.start()) + 1
    package = match.group(1).split(".")
    is_test = path.name.endswith("_test.rego")
    if is_test and package and package[-1].endswith("_test"):
        package[-1] = package[-1].removesuffix("_test")
    if package != list(path.parent.parts):
        expected = ".".join(path.parent.parts) or "(none: the file is at the top)"
        message = f"package {match.group(1)} must match its directory: {expected}"
        problems.append(Problem(message, name, line, "style"))
    if not is_test:
        test_name = (path.parent / f"{path.stem}_test.rego").as_posix()
        if test_name not in files:
            message = f"no {Path(test_name).name} beside it: every policy file has tests"
            problems.append(Problem(message, name, None, "style"))
        if not _has_metadata(source[: match.start()]):
            message = "no # METADATA block (title, description) before the package"
            problems.append(Problem(message, name, line, "style"))
    return problems


def _has_metadata(header: str) -> bool:
    """Whether the comment block right above the package is a METADATA block with a title."""
    block = []
    for line in reversed(header.rstrip("\n").split("\n")):
        if not line.startswith("#"):
            break
        block.append(line)
    block.reverse()
    return (
        bool(block)
        and block[0].strip() == "# METADATA"
        and any(line.startswith("# title:") for line in block)
    )
