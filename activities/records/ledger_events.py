"""Which ledger entries each record carries, keyed by (incident, step, kind).

A record activity may run several times for one fact (retries, or the same step recorded as
it moves on); the natural key makes the second append find the first entry.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from activities.actuators.registry import UnknownNameError, get_actuator
from activities.types import ApprovalRecord, IncidentRecord, StepRecord
from api.ledger.store import EntryDraft

# Step statuses that are facts of their own; the others (awaiting_approval, approved,
# rejected) are told by the approval entries, a denial by the decision entry.
_STEP_FACTS = {
    ("act", "applied"): "apply",
    ("act", "failed"): "apply_failed",
    ("act", "planned"): "plan",
    ("verify", "passed"): "verification",
    ("verify", "failed"): "verification",
    ("verify", "skipped"): "verification",
    ("undo", "undone"): "undo",
    ("undo", "failed"): "undo_failed",
}


def _reversible(actuator: str) -> bool | None:
    try:
        return not get_actuator(actuator).irreversible
    except UnknownNameError:
        return None


def incident_opening(rec: IncidentRecord) -> dict[str, Any]:
    """What an incident was opened with: its ledger entry's payload and its row's columns."""
    return {
        "service": rec.service,
        "signal": rec.signal,
        "severity": rec.severity,
        "playbook": rec.playbook,
        "mode": rec.mode,
        "opened_by": rec.opened_by,
        "window_start": rec.window_start,
        "summary": rec.summary,
    }


def incident_drafts(rec: IncidentRecord) -> list[EntryDraft]:
    """The incident's opening (every time: the key keeps one) and, at the end, its outcome."""
    drafts = [
        EntryDraft(
            rec.id,
            f"{rec.id}::opened",
            "opened",
            None,
            incident_opening(rec),
        )
    ]
    if rec.outcome is not None:
        drafts.append(
            EntryDraft(
                rec.id,
                f"{rec.id}::outcome",
                "outcome",
                None,
                {"status": rec.status, "outcome": rec.outcome},
            )
        )
    return drafts


def step_drafts(rec: StepRecord) -> list[EntryDraft]:
    """The gate decision (with its exact input) on first sight, then what the step did."""
    drafts: list[EntryDraft] = []
    prefix = f"{rec.incident_id}:{rec.step}"
    if rec.decision is not None:
        payload: dict[str, Any] = {
            "step_kind": rec.kind,
            "actuator": rec.name,
            "params": rec.params,
            "tier": rec.tier,
            "decision": rec.decision,
            "gate_input": rec.gate_input,
        }
        if rec.decision_round > 1:  # re-decided at dispatch, after an approval round
            payload["round"] = rec.decision_round
        drafts.append(
            EntryDraft(
                rec.incident_id,
                _keyed(f"{prefix}:decision", rec.decision_round),
                "decision",
                rec.step,
                payload,
            )
        )
    kind = _STEP_FACTS.get((rec.kind, rec.status))
    if kind is None:
        return drafts
    fact: dict[str, Any] = {"name": rec.name, "params": rec.params, "status": rec.status}
    if rec.kind != "verify":
        fact["tier"] = rec.tier
    for name in ("before", "result", "error"):
        if getattr(rec, name) is not None:
            fact[name] = getattr(rec, name)
    if kind == "apply":
        fact["reversible"] = _reversible(rec.name)
    drafts.append(EntryDraft(rec.incident_id, f"{prefix}:{kind}", kind, rec.step, fact))
    return drafts


def _keyed(key: str, round_number: int) -> str:
    """A round's entry key: the first round's is the plain key, as before rounds existed."""
    return key if round_number <= 1 else f"{key}:{round_number}"


def _with_round(payload: dict[str, Any], round_number: int) -> dict[str, Any]:
    return payload if round_number <= 1 else {**payload, "round": round_number}


def approval_drafts(rec: ApprovalRecord) -> list[EntryDraft]:
    """Each round's request, each vote (once per principal over all rounds), each verdict.

    Only a round's first record carries the gate's details (its tier), so only it requests.
    """
    prefix = f"{rec.incident_id}:{rec.step}"
    drafts: list[EntryDraft] = []
    round_number = rec.approval_round
    if rec.tier:
        request = {
            "actuator": rec.actuator,
            "params": rec.params,
            "tier": rec.tier,
            "reasons": rec.reasons,
            "requirement": asdict(rec.requirement),
            "at": rec.at,
        }
        if rec.diff is not None:  # what the approvers were shown would change
            request["diff"] = rec.diff
        drafts.append(
            EntryDraft(
                rec.incident_id,
                _keyed(f"{prefix}:approval_requested", round_number),
                "approval_requested",
                rec.step,
                _with_round(request, round_number),
            )
        )
    for vote in rec.votes:
        drafts.append(
            EntryDraft(
                rec.incident_id,
                f"{prefix}:vote:{vote.principal}",
                "vote",
                rec.step,
                {**asdict(vote), "actuator": rec.actuator},
            )
        )
    if rec.status != "pending":
        verdict = {
            "actuator": rec.actuator,
            "status": rec.status,
            "reason": rec.decided_reason,
            "at": rec.at,
            "approved_by": [v.principal for v in rec.votes if v.decision == "approve"],
        }
        drafts.append(
            EntryDraft(
                rec.incident_id,
                _keyed(f"{prefix}:approval_decided", round_number),
                "approval_decided",
                rec.step,
                _with_round(verdict, round_number),
            )
        )
    return drafts
