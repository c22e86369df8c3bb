"""Alertmanager webhook payloads (version 4, as Alertmanager 0.25 sends them) and their records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.models.detection import AlertState, IncidentEvidence

ZERO_TIME = "0001-01-01T00:00:00Z"


def alert(
    fingerprint: str,
    status: str = "firing",
    *,
    starts_at: datetime | None = None,
    ends_at: str = ZERO_TIME,
    **labels: str,
) -> dict[str, Any]:
    """One alert of a notification; ``labels`` default to a high-latency alert on ``demo``."""
    return {
        "status": status,
        "labels": {
            "alertname": "HighLatency",
            "service": "demo",
            "severity": "warning",
            "playbook": "high_latency",
            **labels,
        },
        "annotations": {"summary": "p95 above 200 ms"},
        "startsAt": (starts_at or datetime(2026, 11, 1, 12, 0, tzinfo=UTC)).isoformat(),
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=demo_p95",
        "fingerprint": fingerprint,
    }


def notification(*alerts: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    """The notification body Alertmanager POSTs to a webhook receiver."""
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "receiver": "steward",
        "status": status or ("firing" if firing else "resolved"),
        "alerts": list(alerts),
        "groupLabels": {"alertname": alerts[0]["labels"].get("alertname", "")},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "truncatedAlerts": 0,
    }


def evidence_of(engine: Engine, incident_id: str) -> list[IncidentEvidence]:
    """The incident's evidence rows, oldest first."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(IncidentEvidence)
                .where(IncidentEvidence.incident_id == incident_id)
                .order_by(col(IncidentEvidence.id))
            ).all()
        )


def alert_state(engine: Engine, fingerprint: str) -> AlertState | None:
    """The stored state of one alert."""
    with Session(engine) as session:
        return session.get(AlertState, fingerprint)
