"""Remediation history written straight into the app database, for facts and gate tests."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from activities.actuators.registry import get_actuator, parse_params
from activities.records.facts import note_applied, note_outcome
from api.core.settings import Settings
from api.models import Incident, Step, utcnow

SETTINGS = Settings()


def _target(action: str, step: Step) -> str:
    """The target the gate computes for the call; its service when the params do not parse."""
    try:
        actuator = get_actuator(action)
        return actuator.target(SETTINGS, parse_params(actuator.params_model, step.params, action))
    except Exception:  # noqa: BLE001 - these tests use partial params on purpose
        return step.params.get("service", "")


def add_run(
    engine: Engine,
    action: str,
    *,
    service: str = "demo",
    status: str = "resolved",
    ago: float = 60.0,
    verified: bool | None = True,
    tier: str = "warn",
    params: dict[str, Any] | None = None,
    step_status: str = "applied",
    mode: str = "apply",
) -> str:
    """Record one incident whose only action is ``action``, applied ``ago`` seconds back.

    Args:
        engine: The app database.
        action: The actuator name of the act step.
        service: The incident's service.
        status: How the incident ended (or ``running``).
        ago: Seconds since the action was applied and the incident last changed.
        verified: True adds a passed verify step, False a failed one, None none.
        tier: The act step's tier.
        params: The act step's parameters (default: the service).
        step_status: The act step's status (``applied`` counts as applied).
        mode: ``apply`` or ``simulate``.

    Returns:
        The incident id.
    """
    at: datetime = utcnow() - timedelta(seconds=ago)
    incident_id = f"inc-{secrets.token_hex(5)}"
    incident = Incident(
        id=incident_id,
        service=service,
        signal="test",
        severity="high",
        playbook="test",
        mode=mode,
        status=status,
        opened_by="tester",
        window_start=at,
        created_at=at,
        updated_at=at,
    )
    rows: list[Any] = [incident]
    rows.append(
        Step(
            incident_id=incident_id,
            step=1,
            kind="act",
            name=action,
            params=params if params is not None else {"service": service},
            tier=tier,
            status=step_status,
            created_at=at,
            updated_at=at,
        )
    )
    if verified is not None:
        rows.append(
            Step(
                incident_id=incident_id,
                step=2,
                kind="verify",
                name="demo.p95_below",
                status="passed" if verified else "failed",
                created_at=at,
                updated_at=at,
            )
        )
    with Session(engine) as session:
        session.add_all(rows)
        session.flush()
        # The facts the record activities keep, written by the same functions.
        if step_status == "applied":
            gate_input = {"incident": {"service": service}, "target": _target(action, rows[1])}
            note_applied(session, incident_id, 1, action, tier, gate_input, at)
        note_outcome(session, incident_id, service, mode, status, at)
        session.commit()
    return incident_id
