"""The embedded policy engine, evaluating the real Rego bundle with regopy."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from activities.policy.engine import (
    EmbeddedPolicyEngine,
    PolicyError,
    canonical_json,
    gate_input_to_dict,
    input_sha256,
)
from activities.policy.types import ApprovalRequirement, IncidentRef
from tests.activities.policy import (
    DATA,
    GATE_FILES,
    GATE_REGO,
    TIERS,
    assert_deny,
    custom_engine,
    data_document,
    make_input,
    write_policy,
)


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedPolicyEngine:
    return EmbeddedPolicyEngine(write_policy(tmp_path_factory.mktemp("policy")))


@pytest.mark.parametrize(
    "changes",
    [
        {"tier": "info"},
        {"tier": "warn", "mode": "simulate"},
        {"parameters": {"replicas": 20}},
        {"action": "demo.restart", "parameters": {"replicas": 500}},
    ],
)
def test_allowed(policy: EmbeddedPolicyEngine, changes: dict[str, Any]) -> None:
    gate_input = make_input(**changes)
    decision = policy.evaluate(gate_input)
    assert (decision.outcome, decision.reasons, decision.rules) == ("allow", [], ["tier_allow"])
    assert decision.approval is None and decision.bundle_sha256 == policy.bundle_sha256
    assert decision.input_sha256 == input_sha256(gate_input)


def test_critical_tier_requires_approval_from_data(policy: EmbeddedPolicyEngine) -> None:
    decision = policy.evaluate(make_input(tier="critical"))
    assert decision.outcome == "approval_required"
    assert decision.reasons == ["tier critical requires approval"]
    assert decision.approval == ApprovalRequirement(
        quorum=2,
        roles=["operator", "sre"],
        timeout_seconds=900,
        excluded_principals=["detector.error_rate"],
    )
    assert decision.rules == ["tier_approval"]


def test_kill_switch_denies_even_info(tmp_path: Path) -> None:
    data = {**DATA, "kill_switch": {"enabled": True, "reason": "INC-42 cleanup"}}
    engine = EmbeddedPolicyEngine(write_policy(tmp_path, data))
    for tier in ("info", "critical"):
        decision = engine.evaluate(make_input(tier=tier))
        assert_deny(decision, ["kill switch: INC-42 cleanup"], ["kill_switch"])


BAD_INCIDENT = IncidentRef(
    id="inc-1",
    service="demo",
    signal="error_rate",
    severity=None,  # type: ignore[arg-type]
    opened_by="d",
)
INVALID = ["invalid_input"]
LIMIT = ["parameter_limit"]


@pytest.mark.parametrize(
    ("changes", "reasons", "rules"),
    [
        ({"tier": "extreme"}, ["unknown tier: extreme"], ["unknown_tier"]),
        ({"mode": "yolo"}, ["unknown mode: yolo"], ["unknown_mode"]),
        ({"tier": 3}, ["invalid input: tier"], INVALID),
        ({"action": None}, ["invalid input: action"], INVALID),
        ({"parameters": ["replicas", 3]}, ["invalid input: parameters"], INVALID),
        ({"stats": "none"}, ["invalid input: stats"], INVALID),
        ({"step": "1"}, ["invalid input: step"], INVALID),
        ({"incident": BAD_INCIDENT}, ["invalid input: incident.severity"], INVALID),
        ({"incident": "inc-1"}, ["invalid input: incident"], INVALID),
        ({"parameters": {"replicas": 21}}, ["replicas 21 exceeds the limit 20"], LIMIT),
        ({"parameters": {"replicas": "9"}}, ["replicas must be a number"], LIMIT),
        # Deny beats approval: a critical action over the limit is denied outright.
        (
            {"tier": "critical", "parameters": {"replicas": 99}},
            ["replicas 99 exceeds the limit 20"],
            LIMIT,
        ),
    ],
    ids=lambda value: json.dumps(value, default=str) if isinstance(value, dict) else "",
)
def test_denials(
    policy: EmbeddedPolicyEngine, changes: dict[str, Any], reasons: list[str], rules: list[str]
) -> None:
    assert_deny(policy.evaluate(make_input(**changes)), reasons, rules)


@pytest.mark.parametrize(
    "gate_input",
    [make_input(parameters={"replicas": float("nan")}), {"tier": "info"}],
    ids=["nan", "not-a-dataclass"],
)
def test_input_python_cannot_encode_is_denied(
    policy: EmbeddedPolicyEngine, gate_input: Any
) -> None:
    decision = policy.evaluate(gate_input)
    assert (decision.outcome, decision.rules) == ("deny", ["invalid_input"])
    assert decision.reasons[0].startswith("invalid input: ")
    assert decision.bundle_sha256 == policy.bundle_sha256


def test_input_hash_is_canonical_json_of_the_dataclass(policy: EmbeddedPolicyEngine) -> None:
    one = make_input(parameters={"a": 1, "replicas": 3})
    same = make_input(parameters={"replicas": 3, "a": 1})
    text = json.dumps(dataclasses.asdict(one), sort_keys=True, separators=(",", ":"))
    expected = hashlib.sha256(text.encode()).hexdigest()
    assert policy.evaluate(one).input_sha256 == expected
    assert policy.evaluate(same).input_sha256 == expected
    assert policy.evaluate(make_input(step=2)).input_sha256 != expected
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'
    document = gate_input_to_dict(one)
    assert document["incident"] == dataclasses.asdict(one.incident)
    assert (document["step"], document["parameters"]) == (1, {"a": 1, "replicas": 3})


def test_undefined_decision_is_denied(tmp_path: Path) -> None:
    engine = custom_engine(tmp_path, 'decision := {"outcome": "allow"} if input.tier == "none"')
    decision = engine.evaluate(make_input())
    assert_deny(decision, ["undefined decision"], ["undefined_decision"])
    assert decision.bundle_sha256 == engine.bundle_sha256


ALLOW_DOC: dict[str, Any] = {"outcome": "allow", "reasons": [], "approval": None, "rules": []}
APPROVAL_DOC = {"quorum": 3, "roles": ["a", "b"], "timeout_seconds": 60}
NEEDS_APPROVAL = {**ALLOW_DOC, "outcome": "approval_required"}


@pytest.mark.parametrize(
    ("document", "detail"),
    [
        ("allow", "expected an object, got str"),
        ({"outcome": "allow"}, "missing approval, reasons, rules"),
        ({**ALLOW_DOC, "outcome": "maybe"}, "outcome 'maybe' is not one of allow, approval_"),
        ({**ALLOW_DOC, "reasons": "ok"}, "reasons must be a list of strings"),
        ({**ALLOW_DOC, "rules": [1]}, "rules must be a list of strings"),
        (NEEDS_APPROVAL, "approval_required without an approval object"),
        ({**NEEDS_APPROVAL, "approval": {**APPROVAL_DOC, "quorum": True}}, "approval.quorum"),
        ({**NEEDS_APPROVAL, "approval": {**APPROVAL_DOC, "roles": []}}, "approval.roles"),
        ({**ALLOW_DOC, "approval": APPROVAL_DOC}, "approval given with outcome 'allow'"),
    ],
)
def test_malformed_decision_is_denied(tmp_path: Path, document: Any, detail: str) -> None:
    # JSON is valid Rego, so the document can be written as the rule's value.
    decision = custom_engine(tmp_path, f"decision := {json.dumps(document)}").evaluate(make_input())
    assert (decision.outcome, decision.rules) == ("deny", ["malformed_decision"])
    assert decision.reasons[0].startswith(f"malformed decision: {detail}")


def test_well_formed_custom_decision_is_taken_as_is(tmp_path: Path) -> None:
    document = {**NEEDS_APPROVAL, "reasons": ["r"], "rules": ["x"], "approval": APPROVAL_DOC}
    decision = custom_engine(tmp_path, f"decision := {json.dumps(document)}").evaluate(make_input())
    assert decision.outcome == "approval_required"
    assert decision.approval == ApprovalRequirement(quorum=3, roles=["a", "b"], timeout_seconds=60)
    assert (decision.reasons, decision.rules) == (["r"], ["x"])


def test_evaluation_error_is_denied_not_raised(tmp_path: Path) -> None:
    clash = 'decision := {"a": 1} if input.tier == "info"'
    rules = f'{clash}\n\ndecision := {{"b": 2}} if input.tier == "info"'
    decision = custom_engine(tmp_path, rules).evaluate(make_input())
    assert decision.outcome == "deny"
    assert decision.rules == ["evaluation_error"]
    assert decision.reasons[0].startswith("policy error: ")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {GATE_REGO: "package steward.gate\n\n# note\n\ndecision := if {\n}\n"},
            f"{GATE_REGO}:5: ",
        ),
        # Reading data.steward whole from inside package steward.gate is recursive; regopy
        # only notices when evaluating, which the load does once.
        ({GATE_REGO: "package steward.gate\n\ndecision := data.steward\n"}, "Recursion"),
        ({"data.json": '{\n  "steward": {\n    "tiers": ,\n  }\n}\n'}, "data.json:3: "),
        ({"data.json": "[]"}, "data.json: the top level must be a JSON object"),
        (dict.fromkeys(GATE_FILES), "no .rego files"),
        # Data the policy's own check refuses never goes live.
        (
            {"data.json": json.dumps(data_document({**DATA, "tiers": {"info": {}}}))},
            "data.json: invalid data: tiers.info.approval",
        ),
    ],
)
def test_load_errors_are_policy_errors(
    tmp_path: Path, files: dict[str, str | None], message: str
) -> None:
    root = write_policy(tmp_path)
    for name, text in files.items():
        if text is None:
            (root / name).unlink()
        else:
            (root / name).write_text(text)
    with pytest.raises(PolicyError) as caught:
        EmbeddedPolicyEngine(root)
    assert message in caught.value.message


def test_bundle_hash_covers_rego_and_data_but_not_tests(tmp_path: Path) -> None:
    root = write_policy(tmp_path)
    first = EmbeddedPolicyEngine(root)
    assert first.bundle.files == ("data.json", *GATE_FILES)
    assert EmbeddedPolicyEngine(root).bundle_sha256 == first.bundle_sha256

    (root / "steward/gate/gate_test.rego").write_text("package steward.gate_test\n")
    assert EmbeddedPolicyEngine(root).bundle_sha256 == first.bundle_sha256

    (root / "data.json").write_text(json.dumps(data_document({**DATA, "limits": {}})))
    after_data = EmbeddedPolicyEngine(root).bundle_sha256
    assert after_data != first.bundle_sha256

    with (root / GATE_REGO).open("a") as rego:
        rego.write("\n# a comment changes the bundle too\n")
    assert EmbeddedPolicyEngine(root).bundle_sha256 not in {first.bundle_sha256, after_data}


def test_bundle_hash_follows_the_documented_formula(policy: EmbeddedPolicyEngine) -> None:
    digest = hashlib.sha256()
    for name in sorted(policy.bundle.files):
        content = (policy.bundle.directory / name).read_bytes()
        digest.update(f"{name}\0{len(content)}\0".encode() + content)
    assert policy.bundle_sha256 == digest.hexdigest()


def test_failed_reload_keeps_the_old_bundle(tmp_path: Path) -> None:
    root = write_policy(tmp_path)
    engine = EmbeddedPolicyEngine(root)
    before = engine.bundle_sha256
    assert engine.evaluate(make_input()).outcome == "allow"

    # A thread that already has its interpreter must keep working through the failure.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(engine.evaluate, make_input()).result().outcome == "allow"
        good = (root / GATE_REGO).read_text()
        (root / GATE_REGO).write_text(good + "\nbroken := if {\n")
        with pytest.raises(PolicyError, match=GATE_REGO):
            engine.reload()
        assert engine.bundle_sha256 == before
        kept = pool.submit(engine.evaluate, make_input()).result()
        assert (kept.outcome, kept.bundle_sha256) == ("allow", before)

        (root / GATE_REGO).write_text(good)
        killed = {**DATA, "kill_switch": {"enabled": True, "reason": "drill"}}
        (root / "data.json").write_text(json.dumps(data_document(killed)))
        after = engine.reload()
        assert after == engine.bundle_sha256 != before
        decision = pool.submit(engine.evaluate, make_input()).result()
        assert (decision.outcome, decision.reasons) == ("deny", ["kill switch: drill"])
        assert decision.bundle_sha256 == after


def expected_outcome(tier: str, replicas: int) -> str:
    if tier not in TIERS or replicas > 20:
        return "deny"
    return "approval_required" if TIERS[tier] else "allow"


def test_eight_threads_get_correct_decisions(policy: EmbeddedPolicyEngine) -> None:
    tiers = ["info", "warn", "critical", "bogus"]
    cases = [(tiers[i % 4], (i * 7) % 30) for i in range(800)]

    def run(case: tuple[str, int]) -> tuple[tuple[str, int], str]:
        tier, replicas = case
        decision = policy.evaluate(make_input(tier=tier, parameters={"replicas": replicas}))
        return case, decision.outcome

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, cases))
        # Swapping in an identical bundle mid-flight must not disturb anyone.
        policy.reload()
        results += list(pool.map(run, cases))

    wrong = [(case, got) for case, got in results if got != expected_outcome(*case)]
    assert wrong == []
    assert len(results) == 1600
