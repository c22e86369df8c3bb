"""The public test kit on Steward's own playbooks: fakes, scripted policy and approvals, ledger.

Each test runs a real worker in Temporal's time-skipping test server through the kit, as a
playbook author's test would.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from activities.actuators.demo import Scale
from activities.actuators.registry import ACTUATORS, CHECKS, UnknownNameError
from activities.policy.engine import PolicyError
from steward.testing import (
    Allow,
    Approve,
    Deny,
    NeedsApproval,
    PlaybookHarness,
    Reject,
    ReplayMismatchError,
    ScriptError,
    TimeOut,
    assert_replays,
)
from tests.steward.testing.changed_playbook import ChangedHighLatency
from workflows.playbooks.error_burst import ErrorBurst
from workflows.playbooks.high_latency import HighLatency

pytestmark = pytest.mark.slow


async def test_a_resolved_run_applies_once_verifies_and_signs_the_ledger() -> None:
    async with PlaybookHarness() as harness:
        scale = harness.fake_actuator("demo.scale", before={"replicas": 2})
        p95 = harness.fake_check("demo.p95_below", results=[False, True])
        harness.script_policy("demo.scale", Allow())
        result = await harness.run(HighLatency, params={"replicas": 5})
    assert result.status == "resolved", result.outcome
    assert scale.applied == [{"service": "demo", "replicas": 5}]
    assert scale.snapshots == 1 and scale.undone == []
    assert scale.calls[-1].idempotency_key == f"{result.workflow_id}:1"
    assert len(p95.polls) == 2  # failed once, then passed
    assert result.compensated == []
    assert [(s["kind"], s["name"], s["status"]) for s in result.steps] == [
        ("act", "demo.scale", "applied"),
        ("verify", "demo.p95_below", "passed"),
    ]
    kinds = result.ledger_kinds()
    assert kinds[0] == "opened" and "apply" in kinds and "verification" in kinds
    assert result.ledger_intact


async def test_a_failed_verification_undoes_the_action_from_its_snapshot() -> None:
    async with PlaybookHarness() as harness:
        scale = harness.fake_actuator("demo.scale", before={"replicas": 2})
        harness.fake_check("demo.p95_below", results=[False])
        harness.script_policy("demo.scale", Allow())
        result = await harness.run(HighLatency, params={"verify_within_seconds": 1})
    assert result.status == "rolled_back", result.outcome
    assert result.compensated == [1]
    assert scale.undone == [{"replicas": 2}]
    assert scale.calls[-1].idempotency_key == f"{result.workflow_id}:1:undo"
    assert "undo" in result.ledger_kinds() and result.ledger_intact


async def test_a_final_apply_failure_is_not_retried_and_reports_what_cannot_be_undone() -> None:
    async with PlaybookHarness() as harness:
        restart = harness.fake_actuator("demo.restart")
        purge = harness.fake_actuator("demo.purge_cache", fail="cache node refused")
        for name in ("demo.restart", "demo.purge_cache"):
            harness.script_policy(name, Allow())
        result = await harness.run(ErrorBurst)
    assert "cache node refused" in result.outcome.reason, result.outcome
    assert len(purge.applied) == 1  # ActionRefusedError: no retry
    # demo.restart is irreversible, and its fake too: compensation reports it, undoes nothing.
    assert restart.snapshots == 0 and restart.undone == []
    assert any("demo.restart" in item for item in result.outcome.irreversible)


async def test_scripted_approval_is_voted_through_the_update_and_recorded() -> None:
    async with PlaybookHarness() as harness:
        restart = harness.fake_actuator("demo.restart")
        harness.fake_actuator("demo.purge_cache")
        harness.fake_check("demo.error_rate_below")
        harness.script_policy("demo.restart", NeedsApproval(quorum=2, excluded=["tester"]))
        harness.script_policy("demo.purge_cache", Allow())
        result = await harness.run(
            ErrorBurst,
            approvals=[Approve(by="tester"), Approve(by="ann"), Approve(by="bo", comment="ok")],
        )
    assert result.status == "resolved", result.outcome
    assert len(restart.applied) == 1
    [refused] = result.refused_votes
    assert refused.answer.by == "tester" and refused.step == 1
    [approval] = result.approvals
    assert approval["status"] == "approved"
    assert sorted(v["principal"] for v in approval["votes"]) == ["ann", "bo"]
    assert "approval_requested" in result.ledger_kinds() and result.ledger_intact


async def test_a_rejection_stops_before_anything_is_applied() -> None:
    async with PlaybookHarness() as harness:
        restart = harness.fake_actuator("demo.restart")
        harness.script_policy("demo.restart", NeedsApproval())
        result = await harness.run(ErrorBurst, approvals=[Reject(by="ann", comment="not now")])
    assert result.status == "rejected", result.outcome
    assert restart.calls == []
    assert result.approvals[0]["status"] == "rejected"


async def test_a_timed_out_approval_is_skipped_in_test_time() -> None:
    started = time.monotonic()
    async with PlaybookHarness() as harness:
        restart = harness.fake_actuator("demo.restart")
        harness.script_policy("demo.restart", NeedsApproval(timeout_seconds=6 * 3600 - 60))
        result = await harness.run(ErrorBurst, approvals=[TimeOut()])
    assert result.status == "rejected" and result.outcome.reason.endswith("timeout")
    assert restart.calls == []
    assert result.approvals[0]["status"] == "timeout"
    assert time.monotonic() - started < 60  # six hours of waiting, skipped


async def test_a_denied_action_never_reaches_the_actuator() -> None:
    async with PlaybookHarness() as harness:
        scale = harness.fake_actuator("demo.scale")
        harness.script_policy("demo.scale", Deny(reason="change freeze"))
        result = await harness.run(HighLatency)
    assert result.status == "denied"
    assert "change freeze" in result.outcome.reason
    assert scale.calls == []
    assert result.ledger_intact


async def test_unscripted_actions_are_decided_by_the_shipped_policy() -> None:
    async with PlaybookHarness() as harness:
        scale = harness.fake_actuator("demo.scale")
        harness.fake_check("demo.p95_below")
        result = await harness.run(HighLatency)
    assert result.status == "resolved", result.outcome
    decision = next(e for e in result.ledger if e.kind == "decision")
    assert "steward.testing.scripted" not in decision.payload["decision"]["rules"]
    assert len(scale.applied) == 1


async def test_an_answer_left_over_is_a_script_error() -> None:
    async with PlaybookHarness() as harness:
        harness.fake_actuator("demo.scale")
        harness.fake_check("demo.p95_below")
        harness.script_policy("demo.scale", Allow())
        with pytest.raises(ScriptError, match="unused"):
            await harness.run(HighLatency, approvals=[Approve(by="ann")])


async def test_fakes_keep_the_real_schema_and_leave_the_registry_as_it_was() -> None:
    async with PlaybookHarness() as harness:
        harness.fake_actuator("demo.scale")
        harness.script_policy("demo.scale", Allow())
        result = await harness.run(HighLatency, params={"replicas": 500})
        with pytest.raises(UnknownNameError, match="give tier= and params="):
            harness.fake_actuator("nowhere.reboot")

        class RebootParams(BaseModel):
            host: str

        harness.fake_actuator("nowhere.reboot", tier="critical", params=RebootParams)
        assert ACTUATORS["nowhere.reboot"].tier == "critical"
    # The playbook's own schema refuses 500 replicas before anything is gated.
    assert result.status == "failed" and "replicas" in result.outcome.reason
    assert type(ACTUATORS["demo.scale"]) is Scale  # the real one again
    assert "nowhere.reboot" not in ACTUATORS and "demo.p95_below" in CHECKS


async def test_a_saved_history_replays_and_a_careless_change_does_not(tmp_path: Path) -> None:
    async with PlaybookHarness() as harness:
        harness.fake_actuator("demo.scale")
        harness.fake_check("demo.p95_below")
        harness.script_policy("demo.scale", Allow())
        result = await harness.run(HighLatency)
    saved = result.save_history(tmp_path / "histories" / "high_latency.json")
    assert json.loads(saved.read_text())["events"]
    assert (await assert_replays(saved)).compatible
    with pytest.raises(ReplayMismatchError, match="high_latency no longer replays"):
        await assert_replays(saved, playbooks=[ChangedHighLatency])


async def test_the_policy_directory_is_the_one_given(tmp_path: Path) -> None:
    (tmp_path / "broken.rego").write_text("package steward.gate\n\ndecision := {\n")
    with pytest.raises(PolicyError):
        async with PlaybookHarness(policy_dir=tmp_path):
            pass


async def test_an_approval_shows_what_will_change_in_its_row_and_the_ledger() -> None:
    async with PlaybookHarness() as harness:
        harness.fake_actuator("demo.scale", before={"replicas": 2})
        harness.fake_check("demo.p95_below")
        harness.script_policy("demo.scale", NeedsApproval())
        result = await harness.run(HighLatency, approvals=[Approve(by="ann")])
    assert result.status == "resolved", result.outcome
    expected = {"changes": [{"path": "replicas", "before": 2, "after": 8}]}
    assert result.approvals[0]["diff"] == expected
    requested = next(e for e in result.ledger if e.kind == "approval_requested")
    assert requested.payload["diff"] == expected and result.ledger_intact


async def test_a_simulated_run_plans_with_the_diff_and_touches_nothing() -> None:
    async with PlaybookHarness() as harness:
        scale = harness.fake_actuator("demo.scale", before={"replicas": 2})
        result = await harness.run(HighLatency, mode="simulate", params={"replicas": 4})
    [planned] = result.outcome.plan
    assert planned["diff"] == {"changes": [{"path": "replicas", "before": 2, "after": 4}]}
    assert scale.applied == [] and scale.undone == []
