"""Builds every activity a Steward worker registers, from one set of shared clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine

from activities.actuators.activities import ActuatorActivities
from activities.policy.engine import PolicyEngine
from activities.policy.gate import GateActivities
from activities.policy.signing import DecisionSigner
from activities.records.activities import RecordActivities, make_stats_gatherer
from api.core.settings import Settings


def build_activities(
    settings: Settings, engine: Engine, http: httpx.AsyncClient, policy: PolicyEngine
) -> list[Callable[..., Any]]:
    """Return the activity callables for a worker.

    Args:
        settings: Runtime settings (targets, signing key).
        engine: App database engine for records and policy facts.
        http: Shared HTTP client for actuators and checks.
        policy: The policy engine the gate evaluates with.
    """
    signer = DecisionSigner(settings.resolved_signing_key())
    gate = GateActivities(policy, signer, settings, make_stats_gatherer(engine))
    actuators = ActuatorActivities(http, settings, signer)
    records = RecordActivities(engine)
    return [
        gate.gate,
        gate.authorize,
        actuators.snapshot,
        actuators.apply,
        actuators.undo,
        actuators.verify,
        records.record_incident,
        records.record_step,
        records.record_approval,
    ]
