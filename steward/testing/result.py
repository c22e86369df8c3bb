"""What one playbook run under the kit left behind: outcome, steps, approvals, ledger, history."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHistory

from api.core.settings import Settings
from api.ledger.chain import check_incident_chain
from api.ledger.keys import ledger_verifier
from api.ledger.store import entry_dict, incident_entries
from api.models import Approval, ApprovalVote, Step
from steward.testing.approvals import RefusedVote
from workflows.types import PlaybookOutcome

__all__ = ["LedgerRecord", "PlaybookResult"]


@dataclass(frozen=True, kw_only=True)
class LedgerRecord:
    """One signed ledger entry of the incident.

    Attributes:
        kind: ``opened``, ``decision``, ``approval_requested``, ``apply``, ``verification``,
            ``undo``, ``outcome`` and the like (``docs/audit.md`` lists them).
        step: The step it belongs to, or None for the incident's own entries.
        payload: The fact it records.
    """

    kind: str
    step: int | None
    payload: dict[str, Any]


@dataclass(kw_only=True)
class PlaybookResult:
    """The outcome of a run, and everything Steward recorded about it.

    Attributes:
        workflow_id: The incident id (its workflow's id).
        outcome: What the playbook returned.
        steps: The step rows, in order: ``step``, ``kind``, ``name``, ``status``,
            ``params``, ``error``.
        approvals: The approval rows: ``step``, ``actuator``, ``status``, ``votes`` (each
            ``principal`` and ``decision``), ``decided_reason`` and ``diff`` (what the
            approvers were shown would change).
        ledger: The incident's ledger entries, in order.
        ledger_intact: Whether the entries' hash chain and signatures verify.
        refused_votes: Scripted votes the workflow refused, with why.
        history: The workflow's history, for :meth:`save_history` and replay checks.
    """

    workflow_id: str
    outcome: PlaybookOutcome
    steps: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    ledger: list[LedgerRecord]
    ledger_intact: bool
    history: WorkflowHistory
    refused_votes: list[RefusedVote] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``resolved``, ``denied``, ``rejected``, ``rolled_back`` or ``failed``."""
        return self.outcome.status

    @property
    def compensated(self) -> list[int]:
        """The steps compensation undid, in the order undone."""
        return list(self.outcome.compensated)

    def ledger_kinds(self) -> list[str]:
        """The kinds of the ledger entries, in order."""
        return [entry.kind for entry in self.ledger]

    def save_history(self, path: str | Path) -> Path:
        """Write the run's history as JSON (the format ``temporal workflow show`` writes).

        Commit the file beside the test: :func:`~steward.testing.assert_replays` then proves
        that later versions of the playbook still replay it.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(json.loads(self.history.to_json()), indent=1) + "\n")
        return target


def collect(
    *,
    engine: Engine,
    settings: Settings,
    workflow_id: str,
    outcome: PlaybookOutcome,
    history: WorkflowHistory,
    refused_votes: list[RefusedVote],
) -> PlaybookResult:
    """Read what the run recorded into a :class:`PlaybookResult`."""
    with Session(engine) as session:
        steps = session.exec(
            select(Step)
            .where(Step.incident_id == workflow_id)
            .order_by(col(Step.step), col(Step.id))
        ).all()
        approvals = session.exec(
            select(Approval).where(Approval.incident_id == workflow_id).order_by(col(Approval.step))
        ).all()
        votes = session.exec(
            select(ApprovalVote).where(col(ApprovalVote.approval_id).in_([a.id for a in approvals]))
        ).all()
        step_rows = [
            {
                "step": s.step,
                "kind": s.kind,
                "name": s.name,
                "status": s.status,
                "params": s.params,
                "error": s.error,
            }
            for s in steps
        ]
        approval_rows = [
            {
                "step": a.step,
                "actuator": a.actuator,
                "status": a.status,
                "decided_reason": a.decided_reason,
                "diff": a.diff,
                "votes": [
                    {"principal": v.principal, "decision": v.decision}
                    for v in votes
                    if v.approval_id == a.id
                ],
            }
            for a in approvals
        ]
    entries = [entry_dict(row) for row in incident_entries(engine, workflow_id)]
    problem = check_incident_chain(entries, ledger_verifier(settings))
    return PlaybookResult(
        workflow_id=workflow_id,
        outcome=outcome,
        steps=step_rows,
        approvals=approval_rows,
        ledger=[
            LedgerRecord(kind=e["kind"], step=e["step"], payload=json.loads(e["payload"]))
            for e in entries
        ],
        ledger_intact=problem is None,
        history=history,
        refused_votes=refused_votes,
    )
