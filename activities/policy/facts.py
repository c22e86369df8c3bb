"""The facts the policy needs, read from the app database for every gate decision.

The policy stays pure: everything it knows about the world arrives in ``input.stats``.

``applied``
    Applied actions of the last day, grouped by action, service (the incident's), target
    and tier, with how many were applied in each window of :data:`WINDOWS` seconds (keys
    are the seconds as strings). Rate limits count these, across every playbook.
``verified``
    Verified outcomes of this action's runs on this service, newest first (at most
    :data:`VERIFIED_RUNS`): 1 when the incident ended resolved after a passing
    verification, 0 when it was rolled back or failed. The circuit breaker sums them.
``kill_switch``
    The kill switch set at runtime through the API, or null.
``freezes``
    Freeze windows set at runtime through the API that are not over yet.

``steward policy check`` fails a policy that reads a fact not listed in :data:`FACT_KEYS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, String, and_, case, cast, exists, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from activities.actuators.registry import get_actuator, parse_params
from activities.policy import runtime
from api.core.settings import Settings
from api.models import Incident, Step, utcnow

FACT_KEYS = ("applied", "verified", "kill_switch", "freezes")
WINDOWS = (60, 300, 900, 3600, 86400)
VERIFIED_RUNS = 50
# Incident statuses that say how a run ended: resolved only after its verifications passed.
_FAILED = ("rolled_back", "failed")


@dataclass
class Facts:
    """What the gatherer found: the policy's facts and the newest reload request."""

    stats: dict[str, Any]
    reload_generation: int


FactsGatherer = Callable[[str, str, str], Facts]


def empty_stats() -> dict[str, Any]:
    """Return the facts of a database with no history: the shape every decision sees."""
    return {"applied": [], "verified": [], "kill_switch": None, "freezes": []}


def make_facts_gatherer(engine: Engine, settings: Settings) -> FactsGatherer:
    """Return ``gather(action, service, target) -> Facts`` reading ``engine``'s database.

    Args:
        engine: The app database.
        settings: Used to work out the target of past actions the way their actuators do.
    """

    def gather(action: str, service: str, target: str) -> Facts:
        now = utcnow()
        with Session(engine) as session:
            stats = {
                "applied": applied_groups(session, settings, now),
                "verified": verified_outcomes(session, action, service),
                "kill_switch": runtime.kill_switch_fact(session),
                "freezes": [runtime.freeze_fact(f) for f in runtime.active_freezes(session, now)],
            }
            return Facts(stats, runtime.reload_generation(session))

    return gather


def applied_groups(session: Session, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """Count applied actions per window, grouped by action, service, target and tier.

    The database groups by action, tier, service and parameters; the target comes from the
    actuator (as the gate computes it), so groups with different parameters may merge.
    """
    applied_at = col(Step.updated_at)
    windows = [
        func.sum(case((applied_at >= now - timedelta(seconds=w), 1), else_=0)) for w in WINDOWS
    ]
    params = cast(Step.params, String)
    query = (
        select(col(Step.name), col(Step.tier), col(Incident.service), params, *windows)
        .join(Incident, col(Incident.id) == col(Step.incident_id))
        .where(col(Step.kind) == "act", col(Step.status) == "applied")
        .where(applied_at >= now - timedelta(seconds=max(WINDOWS)))
        .group_by(col(Step.name), col(Step.tier), col(Incident.service), params)
    )
    groups: dict[tuple[str, str, str, str], list[int]] = {}
    for name, tier, service, params_text, *counts in session.execute(query).all():
        target = _target(settings, name, params_text, service)
        key = (name, service, target, tier or "")
        totals = groups.setdefault(key, [0] * len(WINDOWS))
        for i, n in enumerate(counts):
            totals[i] += int(n or 0)
    return [
        {
            "action": name,
            "service": service,
            "target": target,
            "tier": tier,
            "counts": {str(w): totals[i] for i, w in enumerate(WINDOWS)},
        }
        for (name, service, target, tier), totals in sorted(groups.items())
    ]


def _target(settings: Settings, name: str, params_text: str | None, service: str) -> str:
    # A past action whose actuator is gone, or whose parameters no longer validate, still
    # counts: against its incident's service.
    try:
        actuator = get_actuator(name)
        params = parse_params(actuator.params_model, json.loads(params_text or "{}"), name)
        return actuator.target(settings, params)
    except Exception:  # noqa: BLE001 - any failure means the same fallback
        return service


def verified_outcomes(session: Session, action: str, service: str) -> list[int]:
    """Return how this action's recent runs on this service ended, newest first.

    A run is an incident that applied the action and has ended: resolved after a passed
    verification (1), or rolled back or failed (0). Resolved incidents that never
    verified anything say nothing about the action and are left out.
    """
    verify = aliased(Step)
    passed = exists().where(
        and_(
            col(verify.incident_id) == col(Incident.id),
            col(verify.kind) == "verify",
            col(verify.status) == "passed",
        )
    )
    ran = exists().where(
        and_(
            col(Step.incident_id) == col(Incident.id),
            col(Step.kind) == "act",
            col(Step.status) == "applied",
            col(Step.name) == action,
        )
    )
    ended = and_(col(Incident.status) == "resolved", passed)
    query = (
        select(Incident.status)
        .where(col(Incident.service) == service, col(Incident.mode) == "apply", ran)
        .where(or_(ended, col(Incident.status).in_(_FAILED)))
        .order_by(col(Incident.updated_at).desc())
        .limit(VERIFIED_RUNS)
    )
    return [int(status == "resolved") for status in session.exec(query).all()]


def sample_stats() -> dict[str, Any]:
    """Facts shaped exactly as the gatherer shapes them, one of each kind.

    ``steward policy check`` decides a sample input with these: a policy whose validation
    refuses them would refuse every real decision.
    """
    return {
        "applied": [
            {
                "action": "demo.scale",
                "service": "demo",
                "target": "demo",
                "tier": "warn",
                "counts": {str(w): 1 for w in WINDOWS},
            }
        ],
        "verified": [1, 0],
        "kill_switch": {
            "enabled": False,
            "reason": "sample",
            "by": "steward-check",
            "at": "2024-05-01T00:00:00+00:00",
        },
        "freezes": [
            {
                "id": "api-1",
                "start": "2024-04-01T00:00:00+00:00",
                "end": "2024-04-02T00:00:00+00:00",
                "reason": "sample",
                "by": "steward-check",
                "services": ["demo"],
            }
        ],
    }
