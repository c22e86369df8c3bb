"""The policy's runtime state in the app database: kill switch, freezes, reloads, and who/why.

Admins change the kill switch and freezes through the API (``api.routes.policy``) and the
``steward policy`` CLI; every change is recorded as a :class:`PolicyChange` with the principal
and the reason. The facts gatherer hands the current state to the policy in the gate input
(``stats.kill_switch``, ``stats.freezes``), where it overrides and extends ``data.json``:
every decision's recorded input shows the exact switch and freezes it saw, and both engines
see the same thing without pushing data to an OPA server.

A reload is recorded too: workers compare the newest ``reload`` change with the one they last
saw and reload their engine when it is newer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from api.models import UTCDateTime, utcnow
from api.models.policy import PolicyChange, PolicyFreeze, PolicySetting

KILL_SWITCH = "kill_switch"


class FreezeNotFoundError(LookupError):
    """No active freeze has the given id."""


def iso(moment: datetime) -> str:
    """Return ``moment`` as RFC 3339 in UTC with an explicit offset (never ``Z``).

    regopy cannot parse a trailing ``Z``; both engines parse ``+00:00``.
    """
    return moment.astimezone(UTC).isoformat()


def record_change(
    session: Session, kind: str, principal: str, reason: str, detail: dict[str, Any]
) -> PolicyChange:
    """Add one change record (the caller commits)."""
    change = PolicyChange(kind=kind, principal=principal, reason=reason, detail=detail)
    session.add(change)
    return change


def set_kill_switch(session: Session, enabled: bool, principal: str, reason: str) -> PolicyChange:
    """Turn the runtime kill switch on or off, recording who and why; commits."""
    now = utcnow()
    value = {"enabled": enabled, "reason": reason, "by": principal, "at": iso(now)}
    row = session.get(PolicySetting, KILL_SWITCH)
    if row is None:
        row = PolicySetting(key=KILL_SWITCH, changed_by=principal, reason=reason)
    row.value, row.changed_by, row.reason, row.changed_at = value, principal, reason, now
    session.add(row)
    change = record_change(session, KILL_SWITCH, principal, reason, {"enabled": enabled})
    session.commit()
    session.refresh(change)
    return change


@dataclass
class FreezeSpec:
    """A freeze window to add: ``[starts_at, ends_at)``, optionally for some services/tiers."""

    starts_at: datetime
    ends_at: datetime
    reason: str
    services: list[str]
    tiers: list[str]


def add_freeze(session: Session, spec: FreezeSpec, principal: str) -> PolicyFreeze:
    """Add a freeze window, recording who and why; commits.

    Raises:
        ValueError: The window is empty or its times carry no time zone.
    """
    if spec.starts_at.tzinfo is None or spec.ends_at.tzinfo is None:
        raise ValueError("freeze times need a time zone (e.g. +00:00)")
    if spec.ends_at <= spec.starts_at:
        raise ValueError("a freeze must end after it starts")
    freeze = PolicyFreeze(
        starts_at=spec.starts_at,
        ends_at=spec.ends_at,
        services=sorted(set(spec.services)),
        tiers=sorted(set(spec.tiers)),
        reason=spec.reason,
        created_by=principal,
    )
    session.add(freeze)
    session.flush()
    record_change(session, "freeze_added", principal, spec.reason, freeze_fact(freeze))
    session.commit()
    session.refresh(freeze)
    return freeze


def remove_freeze(session: Session, freeze_id: int, principal: str, reason: str) -> PolicyFreeze:
    """End a freeze now, recording who and why; commits.

    Raises:
        FreezeNotFoundError: No freeze with that id is still in place.
    """
    freeze = session.get(PolicyFreeze, freeze_id)
    if freeze is None or freeze.removed_at is not None:
        raise FreezeNotFoundError(f"no active freeze {freeze_id}")
    freeze.removed_at, freeze.removed_by, freeze.removed_reason = utcnow(), principal, reason
    session.add(freeze)
    record_change(session, "freeze_removed", principal, reason, {"id": freeze_id})
    session.commit()
    session.refresh(freeze)
    return freeze


def record_reload(
    session: Session, principal: str, reason: str, detail: dict[str, Any], *, refused: bool
) -> PolicyChange:
    """Record a reload request (``refused`` when the bundle did not compile); commits."""
    kind = "reload_refused" if refused else "reload"
    change = record_change(session, kind, principal, reason, detail)
    session.commit()
    session.refresh(change)
    return change


def freeze_fact(freeze: PolicyFreeze) -> dict[str, Any]:
    """Return a freeze as the policy reads it (filters left out when they are empty)."""
    fact: dict[str, Any] = {
        "id": f"api-{freeze.id}",
        "start": iso(freeze.starts_at),
        "end": iso(freeze.ends_at),
        "reason": freeze.reason,
        "by": freeze.created_by,
    }
    if freeze.services:
        fact["services"] = list(freeze.services)
    if freeze.tiers:
        fact["tiers"] = list(freeze.tiers)
    return fact


def kill_switch_fact(session: Session) -> dict[str, Any] | None:
    """Return the runtime kill switch, or None when nobody has set it at runtime."""
    row = session.get(PolicySetting, KILL_SWITCH)
    return dict(row.value) if row is not None else None


# Built once: every gate decision runs these two.
_ACTIVE_FREEZES = (
    select(PolicyFreeze)
    .where(
        col(PolicyFreeze.removed_at).is_(None),
        PolicyFreeze.ends_at > bindparam("now", type_=UTCDateTime()),
    )
    .order_by(col(PolicyFreeze.starts_at))
)
_RELOAD_GENERATION = select(func.max(PolicyChange.id)).where(PolicyChange.kind == "reload")


def active_freezes(session: Session, now: datetime) -> list[PolicyFreeze]:
    """Return the freezes not removed and not yet over, soonest first."""
    return list(session.exec(_ACTIVE_FREEZES, params={"now": now}).all())


def reload_generation(session: Session) -> int:
    """Return the id of the newest recorded reload (0 when there is none)."""
    return int(session.exec(_RELOAD_GENERATION).one() or 0)


def recent_changes(session: Session, limit: int = 50) -> list[PolicyChange]:
    """Return the newest changes first."""
    query = select(PolicyChange).order_by(col(PolicyChange.id).desc()).limit(limit)
    return list(session.exec(query).all())
