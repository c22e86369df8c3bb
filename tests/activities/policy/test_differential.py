"""Differential check: regopy (the embedded engine) and the real OPA engine must agree.

620 hypothesis-generated inputs and configurations (500 on valid data, 8 for each of 15
kinds of damaged data)
go through the policy's pure ``decide(input, config)`` on both engines, and the first 500
also through the production entrypoint with the shipped data; any difference fails with the
input shown. The examples must reach every rule the policy can name in a decision, and
OPA's own coverage report must show every rule and branch of the policy producing a value.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from regopy import Input

from activities.policy.bundle import PolicyBundle, new_interpreter, query_raw
from activities.policy.decision import decision_from_document, decision_from_output, deny
from activities.policy.engine import EmbeddedPolicyEngine
from activities.policy.opa_local import OpaPolicy
from activities.policy.types import Decision
from tests.activities.policy import POLICIES, strategies

EXAMPLES = 500
# Per kind of damage (strategies.DAMAGE), so that every kind is certainly tried.
DAMAGED_DATA_EXAMPLES = 8
QUERY = "decision := data.steward.gate.decide(input.gate, input.config)"
# Every rule name a decision can carry. decide() with invalid data, invalid input, each
# check that denies, each reason to ask for approval, and the plain allow.
EXPECTED_RULES = {
    "invalid_data",
    "invalid_input",
    "unknown_tier",
    "unknown_mode",
    "kill_switch",
    "freeze",
    "parameter_limit",
    "blast_radius",
    "rate_limit",
    "circuit_breaker",
    "approval_quorum",
    "tier_approval",
    "tier_allow",
}


class Engines:
    """Both engines loaded with the shipped policy, evaluating ``decide`` on any config."""

    def __init__(self) -> None:
        self.regopy = PolicyBundle.load(POLICIES, query=QUERY, with_checks=True)
        self.opa = OpaPolicy(POLICIES)
        assert self.opa.problems == []
        self._local = threading.local()

    def by_regopy(self, doc: dict[str, Any]) -> Decision:
        interpreter = getattr(self._local, "interpreter", None) or new_interpreter()
        self._local.interpreter = interpreter
        interpreter.set_input(Input(doc))
        return decision_from_output(query_raw(interpreter, self.regopy.bundle), "", "")

    def by_opa(self, doc: dict[str, Any]) -> Decision:
        try:
            rows = self.opa.query(QUERY, doc)
        except Exception as exc:  # noqa: BLE001 - shown in the disagreement
            return deny("", "", "evaluation_error", f"policy error: {exc}")
        if not rows:
            return deny("", "", "undefined_decision", "undefined decision")
        return decision_from_document(rows[0]["decision"], "", "")


def assert_agree(doc: Any, ours: Decision, theirs: Decision) -> None:
    """Fail, showing the input and both decisions, unless the engines decided alike."""
    assert ours == theirs, (
        "regopy and OPA disagree\n"
        f"input: {json.dumps(doc, sort_keys=True)}\n"
        f"regopy: {ours}\nOPA:    {theirs}"
    )


def test_a_disagreement_fails_showing_the_input() -> None:
    doc = {"gate": {"tier": "warn"}, "config": {}}
    allow = Decision(
        outcome="allow",
        reasons=[],
        bundle_sha256="",
        input_sha256="",
        approval=None,
        rules=["tier_allow"],
    )
    with pytest.raises(AssertionError) as caught:
        assert_agree(doc, allow, deny("", "", "rate_limit", "rate limit x"))
    assert 'input: {"config": {}, "gate": {"tier": "warn"}}' in str(caught.value)
    assert "rate limit x" in str(caught.value)


def test_regopy_and_opa_agree_on_generated_inputs() -> None:
    engines = Engines()
    seen: list[dict[str, Any]] = []
    rules: set[str] = set()

    def compare(gate: Any, config: Any) -> None:
        doc = {"gate": gate, "config": config}
        ours = engines.by_regopy(doc)
        assert_agree(doc, ours, engines.by_opa(doc))
        seen.append(doc)
        rules.update(ours.rules)

    # The same examples every run (derandomized), so reaching every rule is a stable assertion
    # rather than luck; the rarest branches also get an explicit example, so a change to the
    # strategies cannot silently lose them.
    common = settings(
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )

    @settings(common, max_examples=EXAMPLES)
    @given(gate=strategies.gate_input(), config=strategies.config())
    @example(gate=strategies.RESTART, config=strategies.EVERY_KIND_OF_GROUP)
    @example(gate=strategies.RESTART, config=strategies.UNMEETABLE)
    @example(gate=strategies.THIRD_OF_THE_REPLICAS, config=strategies.SHIPPED)
    @example(gate=strategies.TOO_MANY_REPLICAS, config=strategies.SHIPPED)
    @example(gate=strategies.OBSERVED_REPLICAS, config=strategies.SHIPPED)
    @example(gate=strategies.RESTART, config=strategies.KILLED_WITHOUT_REASON)
    def on_valid_data(gate: Any, config: dict[str, Any]) -> None:
        compare(gate, config)

    on_valid_data()
    for broken in strategies.DAMAGE:

        @settings(common, max_examples=DAMAGED_DATA_EXAMPLES)
        @given(gate=strategies.gate_input(), config=strategies.damaged_config(broken))
        def on_damaged_data(gate: Any, config: Any) -> None:
            compare(gate, config)

        on_damaged_data()
    assert len(seen) >= EXAMPLES + DAMAGED_DATA_EXAMPLES * len(strategies.DAMAGE)
    assert rules >= EXPECTED_RULES, f"never reached: {sorted(EXPECTED_RULES - rules)}"
    # The production entrypoint, with the shipped data, on the same inputs.
    embedded = EmbeddedPolicyEngine(POLICIES)
    for doc in seen[:EXAMPLES]:
        if doc["gate"] is None:
            continue  # to the OPA binding None means no input at all, not a null input
        ours = decision_from_output(_entrypoint(embedded, doc["gate"]), "", "")
        theirs = engines.opa.decide(doc["gate"])
        assert ours == theirs, f"the entrypoint disagrees on {json.dumps(doc['gate'])}"
    assert_every_rule_evaluated(engines.opa, seen)


def _entrypoint(engine: EmbeddedPolicyEngine, gate: Any) -> str:
    interpreter = new_interpreter()
    interpreter.set_input(Input(gate))
    return query_raw(interpreter, engine.bundle.bundle)


def covered_rows(opa: OpaPolicy) -> dict[str, set[int]]:
    """The rows OPA's last coverage report marks covered, by file."""
    report = opa.engine.last_coverage or {"files": {}}
    return {
        name: {
            row
            for span in report["files"].get(name, {}).get("covered", [])
            for row in range(span["start"]["row"], span["end"]["row"] + 1)
        }
        for name in opa.sources
    }


def assert_every_rule_evaluated(opa: OpaPolicy, docs: list[dict[str, Any]]) -> None:
    """OPA's coverage shows every rule and else branch of the policy producing a value.

    OPA marks a rule's head covered when its body succeeded. All examples are decided in
    one query, then the entrypoint and the data check once. ``default`` values (used only
    when the policy has no answer) and branches marked as safety nets are left out.
    """
    query = "x := [data.steward.gate.decide(e.gate, e.config) | some e in input.examples]"
    opa.engine.eval_query(query, {"examples": docs}, coverage=True)
    covered = covered_rows(opa)
    entry = "x := [data.steward.gate.decision, data.steward.gate.data_problems]"
    opa.engine.eval_query(entry, docs[0]["gate"], coverage=True)
    for name, rows in covered_rows(opa).items():
        covered[name] |= rows
    missed = []
    for name, source in opa.sources.items():
        lines = source.splitlines()
        missed += [
            f"{name}:{number}: {line.strip()}"
            for number, line in enumerate(lines, start=1)
            if rule_head(line) and number not in covered[name] and not safety_net(lines, number)
        ]
    assert missed == [], "rules no example reached:\n" + "\n".join(missed)


def rule_head(line: str) -> bool:
    """A line that starts a rule or function definition, or one of its else branches."""
    if line.startswith("} else"):
        return True
    if not line or line.startswith(("package", "import", "default")):
        return False
    return line[0].isalpha() or line[0] == "_"


def safety_net(lines: list[str], number: int) -> bool:
    """Whether the comment just above line ``number`` marks it unreachable by design."""
    return number >= 2 and "A safety net, unreachable" in lines[number - 2]
