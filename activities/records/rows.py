"""The rows a playbook run records: its incident, its steps, its approvals and their votes.

Plain functions taking a ``Session``; the caller owns the transaction (see
:class:`activities.records.writer.RecordWriter`). Every write is an upsert keyed by natural
ids, so a retried record changes nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlmodel import Session, select

from activities.records.facts import note_applied, note_outcome
from activities.records.ledger_events import incident_opening
from activities.types import ApprovalRecord, IncidentRecord, StepRecord
from api.models import Approval, ApprovalVote, Incident, Step, utcnow

_INCIDENT: Table = Incident.__table__  # type: ignore[attr-defined]
_STEP: Table = Step.__table__  # type: ignore[attr-defined]
# Built once: statements whose values come as execution parameters skip the per-call
# construction and coercion that ``.values(...)`` costs on every record.
_FIND_INCIDENT = select(_INCIDENT.c.id).where(_INCIDENT.c.id == bindparam("incident_id"))
_INSERT_INCIDENT = insert(_INCIDENT)
_UPDATE_INCIDENT = update(_INCIDENT).where(_INCIDENT.c.id == bindparam("incident_id"))
_FIND_STEP = select(_STEP.c.id, _STEP.c.status).where(
    (_STEP.c.incident_id == bindparam("incident_id"))
    & (_STEP.c.step == bindparam("step"))
    & (_STEP.c.kind == bindparam("kind"))
)
_INSERT_STEP = insert(_STEP)
_UPDATE_STEP = update(_STEP).where(_STEP.c.id == bindparam("row_id"))


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 time written by a workflow (always timezone-aware)."""
    return datetime.fromisoformat(value)


def upsert_incident(session: Session, rec: IncidentRecord) -> None:
    """Create the incident row or move it to ``rec.status`` (and its outcome, when ended)."""
    # Core statements, not the ORM: this runs for every incident's opening and outcome.
    connection = session.connection()
    now = utcnow()
    changes: dict[str, Any] = {"status": rec.status, "updated_at": now}
    if rec.outcome is not None:
        changes["outcome"] = rec.outcome
    if connection.execute(_FIND_INCIDENT, {"incident_id": rec.id}).first() is None:
        row = {
            **incident_opening(rec),
            "id": rec.id,
            "window_start": parse_time(rec.window_start),
            "created_at": now,
        }
        connection.execute(_INSERT_INCIDENT, {**row, **changes})
    else:
        connection.execute(_UPDATE_INCIDENT, {"incident_id": rec.id, **changes})
    if rec.outcome is not None:
        note_outcome(session, rec.id, rec.service, rec.mode, rec.status, now)


def upsert_step(session: Session, rec: StepRecord) -> None:
    """Create or update the step row for ``(incident, step, kind)``."""
    # Core statements, not the ORM: this runs for every step of every incident.
    connection = session.connection()
    key = {"incident_id": rec.incident_id, "step": rec.step, "kind": rec.kind}
    row = connection.execute(_FIND_STEP, key).first()
    now = utcnow()
    changes: dict[str, Any] = {
        "status": rec.status,
        "params": rec.params,
        "tier": rec.tier,
        "updated_at": now,
    }
    for name in ("decision", "before", "result", "error"):
        value = getattr(rec, name)
        if value is not None:
            changes[name] = value
    if row is None:
        connection.execute(_INSERT_STEP, {**key, "name": rec.name, "created_at": now, **changes})
    else:
        connection.execute(_UPDATE_STEP, {"row_id": row.id, **changes})
    # The fact is written with the step's first applied record, in the same transaction.
    newly_applied = rec.status == "applied" and (row is None or row.status != "applied")
    if rec.kind == "act" and newly_applied:
        note_applied(
            session,
            rec.incident_id,
            rec.step,
            rec.name,
            rec.tier,
            rec.gate_input,
            now,
        )


def upsert_approval(session: Session, rec: ApprovalRecord) -> None:
    """Open the approval row on first sight; afterwards add new votes and the verdict.

    A later round's request (after a stricter re-decision) reopens the row.
    """
    approval_id = Approval.make_id(rec.incident_id, rec.step)
    row = session.get(Approval, approval_id)
    if row is None:
        requested = parse_time(rec.at)
        row = Approval(
            id=approval_id,
            incident_id=rec.incident_id,
            step=rec.step,
            actuator=rec.actuator,
            params=rec.params,
            tier=rec.tier,
            reasons=rec.reasons,
            quorum=rec.requirement.quorum,
            roles=rec.requirement.roles,
            requested_at=requested,
            expires_at=requested + timedelta(seconds=rec.requirement.timeout_seconds),
            diff=rec.diff,
        )
    elif rec.tier and rec.approval_round > 1 and row.status != "pending":
        # The next round after a stricter re-decision: asked again under its requirement.
        asked = parse_time(rec.at)
        row.reasons, row.quorum, row.roles = (
            rec.reasons,
            rec.requirement.quorum,
            rec.requirement.roles,
        )
        row.expires_at = asked + timedelta(seconds=rec.requirement.timeout_seconds)
        row.decided_at, row.decided_reason = None, None
        row.approval_round = rec.approval_round
        row.diff = rec.diff
    if rec.status != row.status:
        row.status = rec.status
        if rec.status != "pending":
            row.decided_at = parse_time(rec.at)
            row.decided_reason = rec.decided_reason
    session.add(row)
    seen = set(
        session.exec(
            select(ApprovalVote.principal).where(ApprovalVote.approval_id == approval_id)
        ).all()
    )
    for vote in rec.votes:
        if vote.principal not in seen:
            session.add(
                ApprovalVote(
                    approval_id=approval_id,
                    principal=vote.principal,
                    roles=vote.roles,
                    decision=vote.decision,
                    comment=vote.comment,
                )
            )
