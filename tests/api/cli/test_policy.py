"""``steward policy test``, ``check`` and ``reload``, on the shipped policy and broken copies."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli.main import app
from api.models.policy import PolicyChange
from tests.activities.policy import GATE_REGO, POLICIES

runner = CliRunner()
VALIDATE = "steward/gate/validate.rego"


def steward(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["policy", *args])
    return result.exit_code, result.output


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    return root


def shipped_test_rules() -> set[str]:
    return {
        rule
        for path in POLICIES.rglob("*_test.rego")
        for rule in re.findall(r"^(test_\w+)", path.read_text(), re.MULTILINE)
    }


def test_policy_test_runs_every_rule_on_opa_and_passes() -> None:
    code, output = steward("test", "--json")
    assert code == 0, output
    report = json.loads(output)
    assert {r["rule"] for r in report["results"]} == shipped_test_rules()
    assert report["summary"] == {"pass": len(shipped_test_rules()), "fail": 0, "error": 0}
    code, text = steward("test")
    assert code == 0
    assert "PASS  steward.gate_test.test_deny_beats_approval (steward/gate/gate_test.rego:" in text


EXTRA_TESTS = """package steward.extra_test

import data.steward.gate

test_made_to_pass if {
	gate.decision.outcome == "deny"
}

test_made_to_fail if {
	gate.decision.outcome == "allow"
}

test_made_to_error if {
	to_number(gate.decision.outcome) == 1
}
"""


def test_policy_test_reports_each_failing_rule(policy_copy: Path) -> None:
    # A package of its own: once a rule errors, its package is run rule by rule.
    (policy_copy / "steward/extra").mkdir()
    (policy_copy / "steward/extra/extra_test.rego").write_text(EXTRA_TESTS)
    tests = policy_copy / "steward/gate/gate_test.rego"
    tests.write_text(tests.read_text() + "\ntest_info_tier_is_allowed if {\n\tfalse\n}\n")
    code, output = steward("test", "--dir", str(policy_copy))
    assert code == 1
    lines = output.splitlines()
    extra = "steward/extra/extra_test.rego"
    assert f"PASS  steward.extra_test.test_made_to_pass ({extra}:5)" in lines
    assert f"FAIL  steward.extra_test.test_made_to_fail ({extra}:9): undefined: " in output
    errored = next(line for line in lines if "test_made_to_error" in line)
    assert errored.startswith(f"ERROR steward.extra_test.test_made_to_error ({extra}:13)")
    assert "to_number" in errored
    # Two definitions of one test would OR their bodies: refused, not silently passed.
    twice = [line for line in lines if "test_info_tier_is_allowed" in line]
    assert len(twice) == 2
    assert all(line.startswith("ERROR") and "defined 2 times" in line for line in twice)
    assert "PASS  steward.gate_test.test_deny_beats_approval" in output
    code, only = steward("test", "--dir", str(policy_copy), "--run", "kill_switch")
    assert code == 0 and "test_made_to_fail" not in only and "kill_switch" in only


def test_policy_check_passes_the_shipped_policy() -> None:
    code, output = steward("check", "--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["ok"] and len(report["bundle_sha256"]) == 64
    assert report["facts_read"] == [
        "applied",
        "freezes",
        "kill_switch",
        "service",
        "target",
        "verified",
    ]


def break_file(root: Path, name: str, old: str, new: str) -> None:
    path = root / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def line_of(root: Path, name: str, needle: str) -> int:
    lines = (root / name).read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def test_check_reports_a_syntax_error_with_its_location(policy_copy: Path) -> None:
    break_file(policy_copy, GATE_REGO, "_finding(rule, reason) :=", "_finding(rule, reason) := if")
    code, output = steward("check", "--dir", str(policy_copy))
    assert code == 1
    line = line_of(policy_copy, GATE_REGO, "_finding(rule, reason) := if")
    assert f"{GATE_REGO}:{line}: " in output
    assert "[opa]" in output and "[regopy]" in output


def test_check_reports_a_compile_error_with_its_location(policy_copy: Path) -> None:
    break_file(policy_copy, GATE_REGO, "_sorted(s) := sort(", "_sorted(s) := sort(undeclared + ")
    code, output = steward("check", "--dir", str(policy_copy))
    assert code == 1
    line = line_of(policy_copy, GATE_REGO, "undeclared +")
    assert re.search(rf"{GATE_REGO}:{line}: .*undeclared.* \[opa\]", output), output


def test_check_fails_a_policy_reading_a_fact_the_gatherer_lacks(policy_copy: Path) -> None:
    break_file(
        policy_copy,
        "steward/gate/controls.rego",
        "_kill_switch(ks) := {",
        "_deploying(stats) if stats.deploys_in_flight > 0\n\n_kill_switch(ks) := {",
    )
    code, output = steward("check", "--dir", str(policy_copy))
    assert code == 1
    line = line_of(policy_copy, "steward/gate/controls.rego", "stats.deploys_in_flight")
    assert (
        f"steward/gate/controls.rego:{line}: reads the fact stats.deploys_in_flight, "
        "which the facts gatherer does not supply"
    ) in output


def test_check_fails_a_policy_refusing_the_gatherers_facts(policy_copy: Path) -> None:
    break_file(policy_copy, VALIDATE, "\tis_array(applied)\n", "\tis_object(applied)\n")
    code, output = steward("check", "--dir", str(policy_copy))
    assert code == 1
    assert "facts shaped like the gatherer's is refused: invalid input: stats.applied" in output


def test_check_fails_data_the_policy_calls_invalid(policy_copy: Path) -> None:
    data = json.loads((policy_copy / "data.json").read_text())
    data["steward"]["config"]["approval"]["quorum"] = 0
    (policy_copy / "data.json").write_text(json.dumps(data))
    code, output = steward("check", "--dir", str(policy_copy))
    assert code == 1
    assert "data.json: invalid data: approval.quorum [regopy]" in output


def test_reload_records_a_good_bundle_and_refuses_a_broken_one(
    engine: Engine, policy_copy: Path
) -> None:
    code, output = steward(
        "reload", "--reason", "new limits", "--dir", str(policy_copy), "--by", "ada"
    )
    assert code == 0, output
    break_file(policy_copy, GATE_REGO, "_finding(rule, reason) :=", "_finding(rule, reason) := if")
    code, output = steward("reload", "--reason", "oops", "--dir", str(policy_copy), "--by", "ada")
    assert code == 1 and f"{GATE_REGO}:" in output and "running bundle stays active" in output
    with Session(engine) as session:
        changes = session.exec(select(PolicyChange).order_by(PolicyChange.id)).all()
    assert [(c.kind, c.principal, c.reason) for c in changes] == [
        ("reload", "ada", "new limits"),
        ("reload_refused", "ada", "oops"),
    ]
    assert len(changes[0].detail["bundle_sha256"]) == 64
    assert any(f"{GATE_REGO}:" in p for p in changes[1].detail["problems"])
