"""Reading what detectors and alerts saw for an incident (``incident_evidence`` rows)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.models.detection import IncidentEvidence


def evidence_of(engine: Engine, incident_id: str) -> list[dict[str, Any]]:
    """Return the incident's evidence, oldest first: source, score, explanation, times."""
    with Session(engine) as session:
        return evidence_in(session, incident_id)


def evidence_in(session: Session, incident_id: str) -> list[dict[str, Any]]:
    """:func:`evidence_of`, in an open session."""
    rows = session.exec(
        select(IncidentEvidence)
        .where(IncidentEvidence.incident_id == incident_id)
        .order_by(col(IncidentEvidence.observed_at), col(IncidentEvidence.id))
    ).all()
    return [
        row.model_dump(mode="json", include={"source", "score", "explanation", "observed_at"})
        | {"key": row.dedup_key}
        for row in rows
    ]
