"""The facts the policy needs, read from the app database for every gate decision.

The policy stays pure: everything it knows about the world arrives in ``input.stats``.

``applied``
    Applied actions of the last day, grouped by action, service (the incident's), target
    and tier, one row per group: ``[action, service, target, tier, n60, n300, n900,
    n3600, n86400]``, where ``nW`` is how many were applied in the last ``W`` seconds
    (:data:`WINDOWS`, in order). Rate limits count these, across every playbook. Rows
    rather than objects because every node of the input costs time to hand to regopy
    and to read there: a row has a third of an object's nodes.
``verified``
    Verified outcomes of this action's runs on this service, newest first (at most
    :data:`VERIFIED_RUNS`): 1 when the incident ended resolved after a passing
    verification, 0 when it was rolled back or failed. The circuit breaker sums them.
``kill_switch``
    The kill switch set at runtime through the API, or null.
``freezes``
    Freeze windows set at runtime through the API that are not over yet.
``service``
    The action target's ``environment`` and ``owners`` from the service catalog, or null when
    the catalog does not declare them (an unknown target, the built-in demo, a
    ``STEWARD_TARGETS`` entry): the policy then reads its ``data.json`` as before. Added by
    the gate (:func:`service_fact`), not read from the database; gate inputs recorded before
    it existed lack it, and the policy decides them as it did.

``target``
    What the actuator read from the target itself (``Actuator.observe``: replicas, pods,
    PodDisruptionBudgets), or null when it reads nothing; ``{"error": ...}`` when it could not
    read it (the policy then denies). Added by the gate, not read from the database.

``steward policy check`` fails a policy that reads a fact not listed in :data:`FACT_KEYS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, text
from sqlmodel import Session

from activities.policy import runtime
from api.core.settings import Settings
from api.models import UTCDateTime, utcnow

FACT_KEYS = ("applied", "verified", "kill_switch", "freezes", "service", "target")
WINDOWS = (60, 300, 900, 3600, 86400)
VERIFIED_RUNS = 50


@dataclass
class Facts:
    """What the gatherer found: the policy's facts and the newest reload request."""

    stats: dict[str, Any]
    reload_generation: int


FactsGatherer = Callable[[str, str, str], Facts]


def empty_stats() -> dict[str, Any]:
    """Return the facts of a database with no history: the shape every decision sees."""
    return {
        "applied": [],
        "verified": [],
        "kill_switch": None,
        "freezes": [],
        "service": None,
        "target": None,
    }


def service_fact(settings: Settings, target: str) -> dict[str, Any] | None:
    """The catalog's environment and owners of ``target``, or None when it declares none.

    Raises:
        CatalogError: The catalog file changed since start-up and no longer validates.
    """
    return settings.catalog().policy_facts(target)


def make_facts_gatherer(engine: Engine) -> FactsGatherer:
    """Return ``gather(action, service, target) -> Facts`` reading ``engine``'s database.

    Args:
        engine: The app database.
    """

    def gather(action: str, service: str, target: str) -> Facts:
        now = utcnow()
        with Session(engine) as session:
            stats = {
                "applied": applied_groups(session, now),
                "verified": verified_outcomes(session, action, service),
                "kill_switch": runtime.kill_switch_fact(session),
                "freezes": [runtime.freeze_fact(f) for f in runtime.active_freezes(session, now)],
                # The gate fills these from the catalog (service_fact) and from the target
                # (Actuator.observe): the database has no say.
                "service": None,
                "target": None,
            }
            return Facts(stats, runtime.reload_generation(session))

    return gather


# One statement built once: building the expression per decision cost more than running it.
_APPLIED = text(
    "SELECT action, service, target, tier, "
    + ", ".join(f"SUM(CASE WHEN applied_at >= :since_{w} THEN 1 ELSE 0 END)" for w in WINDOWS)
    + f" FROM fact_applied WHERE applied_at >= :since_{max(WINDOWS)}"
    " GROUP BY action, service, target, tier ORDER BY action, service, target, tier"
).bindparams(*(bindparam(f"since_{w}", type_=UTCDateTime()) for w in WINDOWS))


def applied_groups(session: Session, now: datetime) -> list[list[Any]]:
    """Count applied actions per window, grouped by action, service, target and tier.

    Returns:
        One row per group: action, service, target, tier, then a count per window of
        :data:`WINDOWS`.
    """
    since = {f"since_{w}": now - timedelta(seconds=w) for w in WINDOWS}
    return [
        [action, service, target, tier, *(int(n or 0) for n in counts)]
        for action, service, target, tier, *counts in session.execute(_APPLIED, since).all()
    ]


_VERIFIED = text(
    "SELECT verified FROM fact_outcome WHERE action = :action AND service = :service"
    f" ORDER BY ended_at DESC LIMIT {VERIFIED_RUNS}"
)


def verified_outcomes(session: Session, action: str, service: str) -> list[int]:
    """Return how this action's recent runs on this service ended, newest first.

    1 for a run resolved after a passed verification, 0 for one rolled back or failed
    (see ``activities.records.facts.note_outcome``, which writes them).
    """
    rows = session.execute(_VERIFIED, {"action": action, "service": service}).all()
    return [int(v) for (v,) in rows]


def sample_stats() -> dict[str, Any]:
    """Facts shaped exactly as the gatherer shapes them, one of each kind.

    ``steward policy check`` decides a sample input with these: a policy whose validation
    refuses them would refuse every real decision.
    """
    return {
        "applied": [["demo.scale", "demo", "demo", "warn", *(1 for _ in WINDOWS)]],
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
        "service": {"environment": "staging", "owners": ["sre"]},
        "target": {"replicas_total": 8, "replicas_affected": 0},
    }
