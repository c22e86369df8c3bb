"""The real OPA engine, in process (``opa-golib-python-bindings``, OPA v1.20).

Used where OPA's own semantics are the reference: ``steward policy test`` runs every
``test_*`` rule on it, ``steward policy check`` compiles with it, the differential test
compares regopy's decisions to its decisions, and the test OPA server serves it over HTTP.

OPA parses a module when it is added and compiles the whole set when it first evaluates, so
both steps report errors, each as ``file:line: message``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opa_bindings import OpaEngine, OpaError

from activities.policy.bundle import DATA_FILE
from activities.policy.decision import decision_from_document, deny
from activities.policy.types import Decision

DECISION_PATH = "steward.gate.decision"
_LOCATED = re.compile(r"(?P<file>[^\s:]+\.rego):(?P<line>\d+): (?P<message>[^\n]+)")
_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)


@dataclass
class Problem:
    """One thing wrong with a policy, located when the engine said where."""

    message: str
    file: str | None = None
    line: int | None = None
    source: str = "opa"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else ""
        where = where or (f"{self.file}: " if self.file else "")
        return f"{where}{self.message} [{self.source}]"


def problems_from_error(text: str, source: str) -> list[Problem]:
    """Split an engine's error text into located problems (one per ``file:line:``)."""
    found = [
        Problem(m.group("message").strip(), m.group("file"), int(m.group("line")), source)
        for m in _LOCATED.finditer(text)
    ]
    return found or [Problem(text.strip(), None, None, source)]


def rego_files(policy_dir: Path, tests: bool) -> list[str]:
    """Return the policy's ``.rego`` files as sorted relative POSIX paths."""
    names = [
        p.relative_to(policy_dir).as_posix()
        for p in policy_dir.rglob("*.rego")
        if p.is_file() and (tests or not p.name.endswith("_test.rego"))
    ]
    return sorted(names)


class OpaPolicy:
    """A policy directory loaded into one in-process OPA engine.

    Attributes:
        problems: Parse and compile errors; evaluation is only meaningful without any.
    """

    def __init__(self, policy_dir: Path, *, tests: bool = False) -> None:
        self.directory = Path(policy_dir)
        self.engine = OpaEngine()
        self.problems: list[Problem] = []
        self.sources: dict[str, str] = {}
        for name in rego_files(self.directory, tests):
            source = (self.directory / name).read_text()
            self.sources[name] = source
            try:
                self.engine.add_policy(name, source)
            except OpaError as exc:
                self.problems += problems_from_error(exc.message, "opa")
        data_path = self.directory / DATA_FILE
        if data_path.is_file():
            self._add_data(data_path)
        if not self.problems:
            try:
                # The first evaluation compiles every module together.
                self.engine.eval_query("x := true")
            except OpaError as exc:
                self.problems += problems_from_error(exc.message, "opa")

    def _add_data(self, path: Path) -> None:
        try:
            self.engine.add_data(json.loads(path.read_text()))
        except json.JSONDecodeError as exc:
            self.problems.append(Problem(exc.msg, DATA_FILE, exc.lineno, "opa"))
        except OpaError as exc:
            self.problems.append(Problem(exc.message, DATA_FILE, None, "opa"))

    def query(self, query: str, input_doc: Any = None) -> list[dict[str, Any]]:
        """Evaluate a query; returns its binding sets (empty when undefined).

        Raises:
            OpaError: The evaluation failed.
        """
        result: list[dict[str, Any]] = self.engine.eval_query(query, input_doc)
        return result

    def decide(self, input_doc: Any, bundle_sha: str = "", in_sha: str = "") -> Decision:
        """Return OPA's gate decision for ``input_doc``, failing closed like the engines."""
        try:
            rows = self.query(f"decision := data.{DECISION_PATH}", input_doc)
        except OpaError as exc:
            return deny(bundle_sha, in_sha, "evaluation_error", f"policy error: {exc.message}")
        if len(rows) != 1 or "decision" not in rows[0]:
            return deny(bundle_sha, in_sha, "undefined_decision", "undefined decision")
        return decision_from_document(rows[0]["decision"], bundle_sha, in_sha)


@dataclass
class RuleResult:
    """How one test rule did."""

    package: str
    rule: str
    file: str
    line: int
    outcome: str  # pass | fail | error
    detail: str
    duration_ms: float


def discover_tests(sources: dict[str, str]) -> list[tuple[str, str, str, int]]:
    """Return (package, rule, file, line) for every ``test_*`` rule of every ``*_test.rego``."""
    found = []
    for name in sorted(sources):
        if not name.endswith("_test.rego"):
            continue
        source = sources[name]
        package = _PACKAGE.search(source)
        for match in _TEST_RULE.finditer(source):
            line = source.count("\n", 0, match.start()) + 1
            found.append((package.group(1) if package else "", match.group(1), name, line))
    return found


def run_tests(policy_dir: Path, match: str | None = None) -> tuple[list[RuleResult], OpaPolicy]:
    """Run every ``test_*`` rule on the real OPA engine.

    A rule passes when it is true. Undefined (a false body) fails; an evaluation error
    errors. A name defined twice in one package is an error: OPA would OR the bodies, so
    one could hide the other's failure.

    Args:
        policy_dir: The policy directory (tests and data.json included).
        match: Only rules whose ``package.rule`` contains this regular expression.

    Returns:
        The results in file order, and the loaded policy (its ``problems`` say why no test
        ran when it did not compile).
    """
    policy = OpaPolicy(policy_dir, tests=True)
    if policy.problems:
        return [], policy
    cases = discover_tests(policy.sources)
    seen: dict[tuple[str, str], int] = {}
    for package, rule, _, _ in cases:
        seen[(package, rule)] = seen.get((package, rule), 0) + 1
    pattern = re.compile(match) if match else None
    selected = [c for c in cases if not pattern or pattern.search(f"{c[0]}.{c[1]}")]
    results = []
    for package in dict.fromkeys(c[0] for c in selected):
        # One query per package: each distinct query costs OPA a compile of its own.
        start = time.perf_counter()
        try:
            values: dict[str, Any] | None = _package_values(policy, package)
        except OpaError:
            values = None  # some rule errors: evaluate one by one to say which
        share = (time.perf_counter() - start) * 1000 / max(1, len(selected))
        for pkg, rule, name, line in selected:
            if pkg != package:
                continue
            defined = seen[(pkg, rule)]
            if values is None or defined > 1:
                results.append(_run_one(policy, pkg, rule, name, line, defined))
            else:
                results.append(_judge(pkg, rule, name, line, values, share))
    return results, policy


def _package_values(policy: OpaPolicy, package: str) -> dict[str, Any]:
    rows = policy.query(f"x := data.{package}")
    value = rows[0]["x"] if rows else {}
    return value if isinstance(value, dict) else {}


def _judge(
    package: str, rule: str, name: str, line: int, values: dict[str, Any], took: float
) -> RuleResult:
    if rule not in values:
        outcome, detail = "fail", "undefined: a condition in its body is false"
    elif values[rule] is not True:
        outcome, detail = "fail", f"its value is {json.dumps(values[rule])}, not true"
    else:
        outcome, detail = "pass", ""
    return RuleResult(package, rule, name, line, outcome, detail, round(took, 3))


def _run_one(
    policy: OpaPolicy, package: str, rule: str, name: str, line: int, defined: int
) -> RuleResult:
    start = time.perf_counter()

    def result(outcome: str, detail: str) -> RuleResult:
        took = (time.perf_counter() - start) * 1000
        return RuleResult(package, rule, name, line, outcome, detail, round(took, 3))

    if defined > 1:
        return result("error", f"defined {defined} times in {package}; give each its own name")
    try:
        rows = policy.query(f"x := data.{package}.{rule}")
    except OpaError as exc:
        return result("error", exc.message)
    if not rows:
        return result("fail", "undefined: a condition in its body is false")
    value = rows[0].get("x")
    if value is not True:
        return result("fail", f"its value is {json.dumps(value)}, not true")
    return result("pass", "")


def summarize(results: Iterable[RuleResult]) -> dict[str, int]:
    """Count results by outcome."""
    counts = {"pass": 0, "fail": 0, "error": 0}
    for r in results:
        counts[r.outcome] += 1
    return counts
