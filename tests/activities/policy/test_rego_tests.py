"""Every ``test_*`` rule in every ``*_test.rego`` under policies/, evaluated with regopy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from regopy import Interpreter, LogLevel
from regopy.rego_shared import rego_free_output, rego_output_string, rego_query

from tests.activities.policy import POLICIES

PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
TEST_RULE = re.compile(r"^(test_\w+)\s*(?:if\b|:=|=|\{)", re.MULTILINE)


def discover(root: Path) -> list[tuple[str, str]]:
    """Return (package, rule) for each test rule, in file order."""
    found = []
    for path in sorted(root.rglob("*_test.rego")):
        source = path.read_text()
        package = PACKAGE.search(source)
        assert package, f"{path} has no package"
        found += [(package.group(1), rule) for rule in dict.fromkeys(TEST_RULE.findall(source))]
    return found


CASES = discover(POLICIES)


@pytest.fixture(scope="module")
def interpreter() -> Interpreter:
    """All modules, tests included, and data.json, the way ``opa test policies/`` sees them."""
    rego = Interpreter()
    rego.log_level = LogLevel.NONE
    for path in sorted(POLICIES.rglob("*.rego")):
        rego.add_module(path.relative_to(POLICIES).as_posix(), path.read_text())
    rego.add_data_json((POLICIES / "data.json").read_text())
    return rego


def test_discovery_finds_the_gate_tests() -> None:
    rules = {rule for package, rule in CASES if package == "steward.gate_test"}
    assert len(rules) >= 20
    assert {"test_info_tier_is_allowed", "test_deny_beats_approval"} <= rules


@pytest.mark.parametrize(("package", "rule"), CASES, ids=[f"{p}.{r}" for p, r in CASES])
def test_rego_rule_is_true(interpreter: Interpreter, package: str, rule: str) -> None:
    # A bare query of a false rule is undefined in regopy, so bind it; and read the raw
    # text because regopy.Output chokes on error output.
    output = rego_query(interpreter._impl, f"x := data.{package}.{rule}")
    try:
        raw = rego_output_string(output)
    finally:
        rego_free_output(output)
    assert raw != "undefined", f"{rule} failed (its body is undefined)"
    assert not raw.startswith(("(", "<")), f"{rule} errored: {raw[:2000]}"
    assert json.loads(raw)["bindings"]["x"] is True
