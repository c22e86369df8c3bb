"""Policy engine tests, and the inputs and policy directories they share."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from activities.policy.engine import EmbeddedPolicyEngine
from activities.policy.types import Decision, GateInput, IncidentRef
from api.core.settings import REPO_ROOT

POLICIES = REPO_ROOT / "policies"
GATE_REGO = "steward/gate/gate.rego"

TIERS = {"info": False, "warn": False, "critical": True}
DATA: dict[str, Any] = {
    "kill_switch": {"enabled": False, "reason": ""},
    "tiers": {tier: {"approval": needs} for tier, needs in TIERS.items()},
    "approval": {"quorum": 2, "roles": ["operator", "sre"], "timeout_seconds": 900},
    "limits": {"demo.scale": {"max_replicas": 20}},
}


def make_input(**changes: Any) -> GateInput:
    base = GateInput(
        action="demo.scale",
        target="demo",
        tier="info",
        parameters={"replicas": 3},
        incident=IncidentRef("inc-1", "demo", "error_rate", "critical", "detector.error_rate"),
        requester="ErrorBurstPlaybook",
        mode="apply",
        stats={"recent_actions": 0},
        time="2024-05-01T12:00:00",
        workflow_id="wf-1",
        step=1,
    )
    return dataclasses.replace(base, **changes)


def write_policy(root: Path, data: dict[str, Any] | None = None, rego: str | None = None) -> Path:
    """Copy the real gate policy into ``root`` with its own data (or own Rego source)."""
    (root / "steward/gate").mkdir(parents=True, exist_ok=True)
    if rego is None:
        shutil.copy(POLICIES / GATE_REGO, root / GATE_REGO)
    else:
        (root / GATE_REGO).write_text(rego)
    (root / "data.json").write_text(json.dumps({"steward": DATA if data is None else data}))
    return root


def custom_engine(tmp_path: Path, decision_rule: str) -> EmbeddedPolicyEngine:
    return EmbeddedPolicyEngine(
        write_policy(tmp_path, rego=f"package steward.gate\n\n{decision_rule}\n")
    )


def assert_deny(decision: Decision, reasons: list[str], rules: list[str]) -> None:
    assert decision.outcome == "deny"
    assert decision.reasons == reasons
    assert decision.rules == rules
    assert decision.approval is None
