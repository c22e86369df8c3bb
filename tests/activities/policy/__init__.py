"""Policy engine tests, and the inputs and policy directories they share."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from activities.policy.engine import EmbeddedPolicyEngine
from activities.policy.facts import empty_stats
from activities.policy.types import Decision, GateInput, IncidentRef
from api.core.settings import REPO_ROOT

POLICIES = REPO_ROOT / "policies"
GATE_DIR = "steward/gate"
GATE_REGO = f"{GATE_DIR}/gate.rego"
GATE_FILES = tuple(
    p.relative_to(POLICIES).as_posix()
    for p in sorted((POLICIES / GATE_DIR).glob("*.rego"))
    if not p.name.endswith("_test.rego")
)

TIERS = {"info": False, "warn": False, "critical": True}
DATA: dict[str, Any] = {
    "kill_switch": {"enabled": False, "reason": ""},
    "freezes": [],
    "tiers": {tier: {"approval": needs} for tier, needs in TIERS.items()},
    "environments": {},
    "services": {},
    "teams": {},
    "approval": {"quorum": 2, "roles": ["operator", "sre"], "timeout_seconds": 900},
    "rate_limits": [],
    "circuit_breaker": {"runs": 10, "min_runs": 5, "threshold_percent": 80, "open": "approval"},
    "blast_radius": {},
    "limits": {"demo.scale": {"max_replicas": 20}},
}


def data_document(config: dict[str, Any]) -> dict[str, Any]:
    """The data.json document holding ``config`` where the gate reads it."""
    return {"steward": {"config": config}}


def make_input(**changes: Any) -> GateInput:
    base = GateInput(
        action="demo.scale",
        target="demo",
        tier="info",
        parameters={"replicas": 3},
        incident=IncidentRef(
            id="inc-1",
            service="demo",
            signal="error_rate",
            severity="critical",
            opened_by="detector.error_rate",
        ),
        requester="ErrorBurstPlaybook",
        mode="apply",
        stats=empty_stats(),
        time="2024-05-01T12:00:00+00:00",
        workflow_id="wf-1",
        step=1,
    )
    return dataclasses.replace(base, **changes)


def write_policy(root: Path, data: dict[str, Any] | None = None, rego: str | None = None) -> Path:
    """Copy the real gate policy into ``root`` with its own data (or a one-module policy)."""
    (root / GATE_DIR).mkdir(parents=True, exist_ok=True)
    if rego is None:
        for name in GATE_FILES:
            shutil.copy(POLICIES / name, root / name)
    else:
        (root / GATE_REGO).write_text(rego)
    (root / "data.json").write_text(json.dumps(data_document(DATA if data is None else data)))
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
