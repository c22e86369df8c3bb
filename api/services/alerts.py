"""Alertmanager notifications -> incidents: firing opens or attaches, resolved annotates.

Each alert maps to an incident by its labels: ``service`` (a known target), ``alertname`` (the
signal), ``severity`` (mapped onto Steward's four levels) and ``playbook`` (or the setting
``alertmanager_playbooks``, alert name -> playbook). The alert itself is the evidence. The
latest state of every alert is kept by fingerprint in ``alert_state``: an alert Alertmanager
sends again (every ``repeat_interval``) stays on the incident it opened even after the
incident's fingerprint window has passed, and a resolved alert finds its incident there.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from temporalio.client import Client

from api.core.settings import Settings
from api.models import utcnow
from api.models.detection import AlertState
from api.schemas.alerts import AlertmanagerAlert, AlertmanagerWebhook, AlertResult
from api.schemas.incidents import IncidentCreate
from api.services.incidents import (
    InvalidParamsError,
    UnknownPlaybookError,
    attach_evidence,
    open_incident,
)
from workflows.types import Evidence

SOURCE = "alertmanager"
# Alertmanager's customary severities (and a few common others) on Steward's four levels.
SEVERITIES = {
    "critical": "critical",
    "page": "critical",
    "emergency": "critical",
    "high": "high",
    "error": "high",
    "major": "high",
    "medium": "medium",
    "warning": "medium",
    "warn": "medium",
    "minor": "medium",
    "low": "low",
    "info": "low",
    "none": "low",
}
DEFAULT_SEVERITY = "medium"
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.:-]")


class AlertMappingError(ValueError):
    """An alert whose labels do not say which incident and playbook it is."""


def severity_of(labels: dict[str, str]) -> str:
    """Steward's severity for an alert's ``severity`` label (``medium`` when absent/unknown)."""
    return SEVERITIES.get(labels.get("severity", "").strip().lower(), DEFAULT_SEVERITY)


def incident_body(alert: AlertmanagerAlert, settings: Settings) -> IncidentCreate:
    """The incident a firing alert opens.

    Raises:
        AlertMappingError: No ``alertname`` or ``service`` label, no playbook, or label values
            an incident cannot carry; the message names the label.
    """
    labels = alert.labels
    alertname = labels.get("alertname")
    if not alertname:
        raise AlertMappingError("the alert has no alertname label")
    service = labels.get("service")
    if not service:
        raise AlertMappingError(f"alert {alertname} has no service label")
    playbook = labels.get("playbook") or settings.alertmanager_playbooks.get(alertname)
    if not playbook:
        raise AlertMappingError(
            f"no playbook for alert {alertname}: give it a playbook label or map it in "
            "STEWARD_ALERTMANAGER_PLAYBOOKS"
        )
    summary = alert.annotations.get("summary") or alert.annotations.get("description")
    try:
        return IncidentCreate(
            service=service,
            # Alert names are Prometheus identifiers already; anything else is made one.
            signal=_NOT_NAME.sub("_", alertname)[:100],
            severity=severity_of(labels),  # type: ignore[arg-type]
            playbook=playbook,
            summary=summary[:2000] if summary else None,
        )
    except ValidationError as exc:
        where = {"service": "labels.service", "signal": "labels.alertname"}
        problems = "; ".join(
            f"{where.get(str(e['loc'][0]), str(e['loc'][0]))}: {e['msg']}" for e in exc.errors()
        )
        raise AlertMappingError(problems) from None


def alert_evidence(
    alert: AlertmanagerAlert, hook: AlertmanagerWebhook, observed_at: datetime
) -> Evidence:
    """The alert as evidence; one piece per alert episode (fingerprint, start) and status."""
    return Evidence(
        source=SOURCE,
        dedup_key=f"{SOURCE}:{alert.fingerprint}:{alert.starts_at.isoformat()}:{alert.status}",
        observed_at=observed_at.isoformat(),
        explanation={
            "status": alert.status,
            "alertname": alert.labels.get("alertname"),
            "fingerprint": alert.fingerprint,
            "labels": alert.labels,
            "annotations": alert.annotations,
            "starts_at": alert.starts_at.isoformat(),
            "ends_at": ends.isoformat() if (ends := alert.ends()) else None,
            "generator_url": alert.generator_url,
            "receiver": hook.receiver,
            "group_key": hook.group_key,
            "external_url": hook.external_url,
        },
    )


def _save_state(session: Session, alert: AlertmanagerAlert, incident_id: str | None) -> None:
    """Upsert the alert's latest state (a concurrent first insert becomes an update)."""
    for _ in range(2):
        state = session.get(AlertState, alert.fingerprint)
        if state is None:
            state = AlertState(fingerprint=alert.fingerprint, status=alert.status)
        state.status = alert.status
        state.labels = dict(alert.labels)
        state.annotations = dict(alert.annotations)
        state.starts_at = alert.starts_at
        state.ends_at = alert.ends()
        state.incident_id = incident_id
        state.updated_at = utcnow()
        session.add(state)
        try:
            session.commit()
            return
        except IntegrityError:
            session.rollback()
    raise RuntimeError(f"could not store the state of alert {alert.fingerprint}")


def _result(alert: AlertmanagerAlert, action: str, **extra: str | None) -> AlertResult:
    return AlertResult(
        fingerprint=alert.fingerprint,
        alertname=alert.labels.get("alertname"),
        status=alert.status,
        action=action,  # type: ignore[arg-type]
        **extra,
    )


async def _firing(
    client: Client,
    session: Session,
    settings: Settings,
    hook: AlertmanagerWebhook,
    alert: AlertmanagerAlert,
    principal: str,
) -> AlertResult:
    evidence = alert_evidence(alert, hook, alert.starts_at)
    state = session.get(AlertState, alert.fingerprint)
    same_episode = state is not None and state.starts_at == alert.starts_at
    if state is not None and same_episode and state.status == "firing" and state.incident_id:
        # Re-sent by Alertmanager: the episode already has its incident, even in a later window.
        incident_id = state.incident_id
        await attach_evidence(client, session, incident_id, evidence)
        return _result(alert, "already_open", incident_id=incident_id)
    try:
        body = incident_body(alert, settings)
        row, created = await open_incident(client, session, settings, body, principal, evidence)
    except (AlertMappingError, UnknownPlaybookError, InvalidParamsError, KeyError) as exc:
        _save_state(session, alert, None)
        return _result(alert, "error", error=str(exc.args[0] if exc.args else exc))
    _save_state(session, alert, row.id)
    return _result(alert, "opened" if created else "attached", incident_id=row.id)


async def _resolved(
    client: Client, session: Session, hook: AlertmanagerWebhook, alert: AlertmanagerAlert
) -> AlertResult:
    state = session.get(AlertState, alert.fingerprint)
    if state is not None and state.starts_at is not None and alert.starts_at < state.starts_at:
        # A late notice about an older episode: the newer episode's state stays as it is.
        return _result(alert, "ignored", error="a newer episode of this alert is recorded")
    # Only the episode that opened the incident annotates it; resolving never opens one.
    incident_id = (
        state.incident_id if state is not None and state.starts_at == alert.starts_at else None
    )
    _save_state(session, alert, incident_id)
    if incident_id is None:
        return _result(alert, "ignored", error="no incident was opened for this alert")
    evidence = alert_evidence(alert, hook, alert.ends() or utcnow())
    await attach_evidence(client, session, incident_id, evidence)
    return _result(alert, "annotated", incident_id=incident_id)


async def handle_notification(
    client: Client,
    session: Session,
    settings: Settings,
    hook: AlertmanagerWebhook,
    principal: str,
) -> list[AlertResult]:
    """Handle every alert of one notification, in order; each alert's outcome on its own."""
    results = []
    for alert in hook.alerts:
        if alert.status == "firing":
            results.append(await _firing(client, session, settings, hook, alert, principal))
        else:
            results.append(await _resolved(client, session, hook, alert))
    return results
