"""Policy facts kept up to date by the record activities, in the records' own transactions.

The gate's facts gatherer (``activities.policy.facts``) reads these narrow tables: applied
actions for rate limits, verified outcomes for the circuit breaker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlmodel import Session, col, select

from api.models import Incident, Step
from api.models.policy import ActionOutcomeFact, AppliedActionFact

_ENDED = {"resolved", "rolled_back", "failed"}
_APPLIED: Table = AppliedActionFact.__table__  # type: ignore[attr-defined]
# Built once, values at execution: this runs with every step's first applied record.
_INSERT_APPLIED = insert(_APPLIED)


def note_applied(
    session: Session,
    incident_id: str,
    step: int,
    action: str,
    tier: str | None,
    gate_input: dict[str, Any] | None,
    at: datetime,
) -> None:
    """Count an applied action; the target and service are the ones the gate saw.

    Called once per step: with the record that first moves the step to ``applied`` (a retried
    record finds the step applied already and does not call it).
    """
    gate = gate_input or {}
    service = (gate.get("incident") or {}).get("service")
    if not service:
        incident = session.get(Incident, incident_id)
        service = incident.service if incident is not None else ""
    session.connection().execute(
        _INSERT_APPLIED,
        {
            "incident_id": incident_id,
            "step": step,
            "action": action,
            "service": service,
            "target": gate.get("target") or service,
            "tier": tier or "",
            "applied_at": at,
        },
    )


def note_outcome(
    session: Session, incident_id: str, service: str, mode: str, status: str, at: datetime
) -> None:
    """Record how each action an applying incident applied ended, once the incident ends.

    A resolved incident counts as verified only when one of its verifications passed;
    resolved without any verification says nothing and writes nothing.
    """
    if mode != "apply" or status not in _ENDED:
        return
    steps = session.exec(
        select(Step.kind, Step.name, Step.status).where(Step.incident_id == incident_id)
    ).all()
    applied = {name for kind, name, st in steps if kind == "act" and st == "applied"}
    if status == "resolved":
        if not any(kind == "verify" and st == "passed" for kind, _, st in steps):
            return
        verified = 1
    else:
        verified = 0
    known = set(
        session.exec(
            select(col(ActionOutcomeFact.action)).where(
                ActionOutcomeFact.incident_id == incident_id
            )
        ).all()
    )
    for action in sorted(applied - known):
        session.add(
            ActionOutcomeFact(
                incident_id=incident_id,
                action=action,
                service=service,
                verified=verified,
                ended_at=at,
            )
        )
