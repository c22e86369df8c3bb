"""The gate activity with real facts: rate limits, circuit breaker, runtime state, reloads.

The activity methods are called directly (no worker needed): real SQLite database, real
regopy engine on the shipped policy or a copy of it.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session

from activities.actuators.registry import (
    ACTUATORS,
    Actuator,
    ActuatorContext,
    actuator,
    ensure_registered,
)
from activities.policy import runtime
from activities.policy.engine import EmbeddedPolicyEngine
from activities.policy.facts import make_facts_gatherer
from activities.policy.gate import GateActivities
from activities.policy.signing import DecisionSigner
from activities.policy.types import ApproverGroup
from activities.types import (
    ApprovalRequirement,
    AuthorizeRequest,
    Decision,
    GateRequest,
    IncidentRef,
    Vote,
)
from api.core.settings import Settings
from api.models import utcnow
from tests.activities.policy import POLICIES
from tests.activities.policy.history import add_run

pytestmark = pytest.mark.asyncio(loop_scope="session")


def gate_for(sqlite_engine: Engine, policy_dir: Path = POLICIES) -> GateActivities:
    settings = Settings()
    engine = EmbeddedPolicyEngine(policy_dir)
    signer = DecisionSigner(b"0123456789abcdef0123")
    return GateActivities(engine, signer, settings, make_facts_gatherer(sqlite_engine))


def gate_reaching_targets(
    sqlite_engine: Engine, settings: Settings, http: httpx.AsyncClient
) -> GateActivities:
    """A gate whose actuators may read their targets (facts, previews), as the worker's does."""
    return GateActivities(
        EmbeddedPolicyEngine(POLICIES),
        DecisionSigner(b"0123456789abcdef0123"),
        settings,
        make_facts_gatherer(sqlite_engine),
        actuator_context=lambda: ActuatorContext(http, settings),
    )


def request(actuator: str, params: dict[str, object], step: int = 1) -> GateRequest:
    incident = IncidentRef(
        id="inc-1", service="demo", signal="errors", severity="high", opened_by="olga"
    )
    now = utcnow().isoformat()
    return GateRequest(
        workflow_id="inc-1",
        step=step,
        actuator=actuator,
        params=params,
        incident=incident,
        requester="test",
        mode="apply",
        time=now,
    )


async def test_restarts_per_service_are_rate_limited(sqlite_engine: Engine) -> None:
    gate = gate_for(sqlite_engine)
    for ago in (100, 1000, 3000):
        add_run(sqlite_engine, "demo.restart", ago=ago, tier="critical")
    result = await gate.gate(request("demo.restart", {}))
    assert result.decision.outcome == "deny"
    assert result.decision.reasons == [
        "rate limit restarts per service per hour: 3 applied in the last 3600s, at most 3"
    ]
    assert result.authorization is None
    # The row: action, service, target, tier, then counts for 60 s ... 1 day; 3600 s is [7].
    row = result.gate_input["stats"]["applied"][0]
    assert row[:4] == ["demo.restart", "demo", "demo", "critical"]
    assert row[7] == 3


async def test_ten_remediations_a_minute_across_playbooks(sqlite_engine: Engine) -> None:
    gate = gate_for(sqlite_engine)
    for n in range(9):
        add_run(sqlite_engine, "demo.scale", ago=5 + n, service=f"svc{n % 3}")
    assert (await gate.gate(request("demo.scale", {"replicas": 3}))).decision.outcome == "allow"
    add_run(sqlite_engine, "demo.feature_flag", ago=3, params={"flag": "x", "enabled": True})
    denied = (await gate.gate(request("demo.scale", {"replicas": 3}))).decision
    assert denied.rules == ["rate_limit"]
    assert denied.reasons[0].startswith("rate limit remediations per minute: 10 applied")


async def test_failing_verifications_open_the_circuit_breaker(sqlite_engine: Engine) -> None:
    gate = gate_for(sqlite_engine)
    for n, ok in enumerate([True, False, True, False, True]):
        status = "resolved" if ok else "rolled_back"
        add_run(sqlite_engine, "demo.scale", ago=4000 + n * 100, status=status, verified=ok)
    result = await gate.gate(request("demo.scale", {"replicas": 3}))
    assert result.decision.outcome == "approval_required"
    assert result.decision.reasons == [
        "circuit breaker: demo.scale on demo verified 3 of its last 5 runs, below 80%"
    ]
    assert result.decision.approval is not None
    assert result.decision.approval.excluded_principals == ["olga"]
    assert result.gate_input["stats"]["verified"] == [1, 0, 1, 0, 1]


async def test_kill_switch_and_freezes_from_the_api_take_effect(sqlite_engine: Engine) -> None:
    gate = gate_for(sqlite_engine)
    scale = request("demo.scale", {"replicas": 3})
    with Session(sqlite_engine) as session:
        runtime.set_kill_switch(session, True, "ada", "bad deploy")
    killed = (await gate.gate(scale)).decision
    assert killed.reasons == ["kill switch: bad deploy (set by ada)"]
    with Session(sqlite_engine) as session:
        runtime.set_kill_switch(session, False, "ada", "fixed")
        now = utcnow()
        spec = runtime.FreezeSpec(
            now - timedelta(minutes=1), now + timedelta(hours=1), "GA", [], []
        )
        freeze = runtime.add_freeze(session, spec, "bo")
        freeze_id = freeze.id
        assert freeze_id is not None
    frozen = (await gate.gate(scale)).decision
    assert frozen.rules == ["freeze"] and frozen.reasons[0].endswith(": GA")
    with Session(sqlite_engine) as session:
        runtime.remove_freeze(session, freeze_id, "bo", "shipped")
    assert (await gate.gate(scale)).decision.outcome == "allow"


async def test_the_gate_follows_recorded_reloads(
    sqlite_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    gate = gate_for(sqlite_engine, root)
    scale = request("demo.scale", {"replicas": 15})
    first = (await gate.gate(scale)).decision
    assert first.outcome == "allow"
    data = json.loads((root / "data.json").read_text())
    data["steward"]["config"]["limits"]["demo.scale"]["max_replicas"] = 10
    (root / "data.json").write_text(json.dumps(data))
    # Editing files changes nothing until a reload is recorded.
    assert (await gate.gate(scale)).decision.bundle_sha256 == first.bundle_sha256
    with Session(sqlite_engine) as session:
        runtime.record_reload(session, "ada", "lower limit", {}, refused=False)
    second = (await gate.gate(scale)).decision
    assert second.outcome == "deny" and second.bundle_sha256 != first.bundle_sha256
    # A reload whose files no longer compile is refused here too: the bundle stays.
    gate_rego = root / "steward/gate/gate.rego"
    gate_rego.write_text(gate_rego.read_text() + "\nbroken := if {\n")
    with Session(sqlite_engine) as session:
        runtime.record_reload(session, "ada", "oops", {}, refused=False)
    with caplog.at_level(logging.ERROR):
        third = (await gate.gate(scale)).decision
    assert third.bundle_sha256 == second.bundle_sha256
    assert "steward/gate/gate.rego:" in caplog.text


OPERATOR = ["operator"]


def approval_decision(requirement: ApprovalRequirement) -> Decision:
    return Decision(
        outcome="approval_required",
        reasons=["r"],
        bundle_sha256="sha",
        input_sha256="in",
        approval=requirement,
        rules=["tier_approval"],
    )


@pytest.mark.parametrize(
    ("votes", "approved_by"),
    [
        (
            [
                Vote(principal="pat", roles=["operator"], decision="approve"),
                Vote(principal="pia", roles=["operator"], decision="approve"),
            ],
            ["pat", "pia"],
        ),
        # Escalated to admins: an admin's approval counts with an earlier operator's.
        (
            [
                Vote(principal="pat", roles=OPERATOR, decision="approve"),
                Vote(principal="ada", roles=["admin"], decision="approve"),
            ],
            ["pat", "ada"],
        ),
    ],
)
async def test_authorize_counts_eligible_approvals(
    sqlite_engine: Engine, votes: list[Vote], approved_by: list[str]
) -> None:
    requirement = ApprovalRequirement(
        quorum=2,
        roles=["operator"],
        principals=["pat", "pia", "olga"],
        excluded_principals=["olga"],
        escalation=[ApproverGroup(roles=["admin"])],
    )
    request = AuthorizeRequest(
        workflow_id="inc-1",
        step=1,
        actuator="demo.restart",
        params={},
        decision=approval_decision(requirement),
        votes=votes,
    )
    authorization = await gate_for(sqlite_engine).authorize(request)
    assert authorization.approved_by == approved_by


@pytest.mark.parametrize(
    "votes",
    [
        # The opener may not approve (four-eyes), nor may anyone outside the team or roles.
        [
            Vote(principal="pat", roles=["operator"], decision="approve"),
            Vote(principal="olga", roles=["operator"], decision="approve"),
        ],
        [
            Vote(principal="pat", roles=["operator"], decision="approve"),
            Vote(principal="sam", roles=["operator"], decision="approve"),
        ],
        [
            Vote(principal="pat", roles=["operator"], decision="approve"),
            Vote(principal="pia", roles=["auditor"], decision="approve"),
        ],
        [
            Vote(principal="pat", roles=["operator"], decision="approve"),
            Vote(principal="pat", roles=["operator"], decision="approve"),
        ],
        [
            Vote(principal="pat", roles=["operator"], decision="approve"),
            Vote(principal="pia", roles=["operator"], decision="reject"),
        ],
    ],
)
async def test_authorize_refuses_votes_the_requirement_does_not_admit(
    sqlite_engine: Engine, votes: list[Vote]
) -> None:
    requirement = ApprovalRequirement(
        quorum=2,
        roles=["operator"],
        principals=["pat", "pia", "olga"],
        excluded_principals=["olga"],
    )
    request = AuthorizeRequest(
        workflow_id="inc-1",
        step=1,
        actuator="demo.restart",
        params={},
        decision=approval_decision(requirement),
        votes=votes,
    )
    with pytest.raises(Exception, match="do not satisfy the policy's requirement"):
        await gate_for(sqlite_engine).authorize(request)


async def test_a_preview_shows_what_the_call_would_change_and_writes_nothing(
    sqlite_engine: Engine, demo: httpx.Client, demo_url: str, http: httpx.AsyncClient
) -> None:
    settings = Settings(targets={"demo": demo_url})
    gate = gate_reaching_targets(sqlite_engine, settings, http)
    replicas = demo.get("/admin/state").json()["replicas"]
    simulated = replace(request("demo.scale", {"replicas": replicas + 3}), mode="simulate")
    result = await gate.gate(simulated)
    assert result.diff == {
        "changes": [{"path": "replicas", "before": replicas, "after": replicas + 3}]
    }
    flag = await gate.gate(
        replace(request("demo.feature_flag", {"flag": "dark", "enabled": True}), mode="simulate")
    )
    assert flag.diff == {"changes": [{"path": "flags.dark", "before": None, "after": True}]}
    # An actuator that cannot tell: no diff. A call allowed outright in apply mode: no preview.
    assert (await gate.gate(replace(request("demo.restart", {}), mode="simulate"))).diff is None
    allowed = await gate.gate(request("demo.scale", {"replicas": 2}))
    assert allowed.decision.outcome == "allow" and allowed.diff is None
    assert demo.get("/admin/actions").json() == []  # previews never write


async def test_a_failed_preview_says_why_and_the_gate_still_decides(
    sqlite_engine: Engine, http: httpx.AsyncClient
) -> None:
    settings = Settings(targets={"demo": "http://127.0.0.1:9"})  # nothing listens on port 9
    gate = gate_reaching_targets(sqlite_engine, settings, http)
    result = await gate.gate(replace(request("demo.scale", {"replicas": 3}), mode="simulate"))
    assert result.decision.outcome == "allow"
    assert result.diff is not None and result.diff["changes"] == []
    assert result.diff["error"].startswith("the change could not be previewed: ")


class ObservedParams(BaseModel):
    service: str = "demo"
    replicas: int


@actuator("test.observed_scale", tier="warn", params=ObservedParams)
class ObservedScale(Actuator[ObservedParams]):
    """Reports 8 replicas now: scaling to ``replicas`` removes the difference."""

    async def observe(self, ctx: ActuatorContext, p: ObservedParams) -> dict[str, Any]:
        if p.replicas < 0:
            raise RuntimeError("unreachable")
        return {"replicas_total": 8, "replicas_affected": max(0, 8 - p.replicas)}

    async def apply(self, ctx: ActuatorContext, p: ObservedParams) -> dict[str, Any]:
        raise AssertionError("the gate never applies")

    async def undo(
        self, ctx: ActuatorContext, p: ObservedParams, before: dict[str, Any]
    ) -> dict[str, Any]:
        raise AssertionError("the gate never undoes")


async def test_blast_radius_decides_on_the_facts_the_target_reports(
    sqlite_engine: Engine, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_registered()
    monkeypatch.setitem(ACTUATORS, "test.observed_scale", ObservedScale())
    settings = Settings()
    gate = gate_reaching_targets(sqlite_engine, settings, http)
    # The shipped blast radius: at most 25% of the replicas. 8 -> 7 removes 1 of 8.
    small = await gate.gate(request("test.observed_scale", {"replicas": 7}))
    assert small.decision.outcome == "allow", small.decision
    assert small.gate_input["stats"]["target"] == {"replicas_total": 8, "replicas_affected": 1}
    large = await gate.gate(request("test.observed_scale", {"replicas": 2}))
    assert large.decision.outcome == "deny"
    assert large.decision.reasons == ["6 of 8 replicas exceed the blast radius of 25%"]
    blind = await gate.gate(request("test.observed_scale", {"replicas": -1}))
    assert blind.decision.outcome == "deny"
    assert blind.decision.reasons == ["the target's facts could not be read: unreachable"]
