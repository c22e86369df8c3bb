"""Incident rows written from outside a playbook run: the opening, evidence, the sweeper's close.

Plain functions taking a ``Session``. The API's opening path (``api.services.incidents``) and
the incident sweeper (``activities.incidents.sweep``) call these instead of writing the rows
themselves, so this package stays the only writer of incident rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from activities.records.facts import note_outcome
from api.models import Approval, Incident
from api.models.detection import IncidentEvidence
from workflows.types import Evidence


def insert_opened_incident(
    session: Session,
    *,
    incident_id: str,
    service: str,
    signal: str,
    severity: str,
    playbook: str,
    mode: str,
    opened_by: str,
    window_start: datetime,
    summary: str | None,
) -> bool:
    """Insert the row of an incident whose run was just started, and commit.

    The run's own first record may have written the row already; that row is right, and is
    kept as it is.

    Returns:
        Whether this call inserted the row.
    """
    session.add(
        Incident(
            id=incident_id,
            service=service,
            signal=signal,
            severity=severity,
            playbook=playbook,
            mode=mode,
            opened_by=opened_by,
            window_start=window_start,
            summary=summary,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def insert_evidence(session: Session, incident_id: str, evidence: Evidence) -> None:
    """Store one piece of evidence and commit; the same ``dedup_key`` twice keeps one row."""
    if session.exec(
        select(IncidentEvidence).where(
            IncidentEvidence.incident_id == incident_id,
            IncidentEvidence.dedup_key == evidence.dedup_key,
        )
    ).first():
        return
    session.add(
        IncidentEvidence(
            incident_id=incident_id,
            source=evidence.source,
            dedup_key=evidence.dedup_key,
            score=evidence.score,
            explanation=evidence.explanation,
            observed_at=datetime.fromisoformat(evidence.observed_at),
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent opener stored the same evidence


def close_swept_incident(
    session: Session,
    row: Incident,
    *,
    status: str,
    outcome: dict[str, object],
    reason: str,
    at: datetime,
) -> None:
    """Make an incident whose run ended final, time out its pending approvals, note the outcome.

    The caller holds the ledger lock, appends the outcome's ledger entry and commits: the
    sweeper's repair is one transaction.

    Args:
        session: The sweeper's session; ``row`` was read in it.
        row: The incident row, still claiming a run.
        status: Its final status.
        outcome: Its final outcome (``PlaybookOutcome``-shaped).
        reason: Why the run ended, given to its pending approvals.
        at: When the sweeper decided.
    """
    row.status, row.outcome, row.updated_at = status, outcome, at
    session.add(row)
    for approval in session.exec(
        select(Approval).where(Approval.incident_id == row.id, Approval.status == "pending")
    ).all():
        approval.status, approval.decided_at = "timeout", at
        approval.decided_reason = f"the incident's run ended: {reason}"
        session.add(approval)
    session.flush()
    note_outcome(session, row.id, row.service, row.mode, row.status, at)
