"""Builds every activity a Steward worker registers, from one set of shared clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.client import Client

from activities.actuators.activities import ActuatorActivities
from activities.deliveries.activities import DeliveryActivities
from activities.detection.activities import MonitorScoring
from activities.incidents.activities import IncidentOpener
from activities.incidents.alerts import IncidentAlerts
from activities.incidents.sweep_activity import IncidentSweeper
from activities.incidents.types import OpenIncident
from activities.ledger.simulation import SimulationActivities
from activities.ledger.writer import LedgerWriter
from activities.policy.engine import PolicyEngine
from activities.policy.facts import make_facts_gatherer
from activities.policy.gate import GateActivities
from activities.policy.signing import DecisionSigner
from activities.policy.what_if import WhatIfEngines
from activities.prediction.activities import BreachPrediction
from activities.records.activities import RecordActivities
from api.core.settings import Settings
from api.ledger.keys import ledger_signer


def build_activities(
    settings: Settings,
    engine: Engine,
    http: httpx.AsyncClient,
    policy: PolicyEngine,
    client: Client,
    open_incident: OpenIncident,
) -> list[Callable[..., Any]]:
    """Return the activity callables for a worker.

    Args:
        settings: Runtime settings (targets, signing key).
        engine: App database engine for records and policy facts.
        http: Shared HTTP client for actuators and checks.
        policy: The policy engine the gate evaluates with.
        client: Temporal client, for activities that open incidents.
        open_incident: How findings open incidents (the API's own opening path).
    """
    signer = DecisionSigner(settings.resolved_signing_key())
    ledger_key = ledger_signer(settings)
    # Decisions' bundles are archived from the engine's memory, never read from disk.
    ledger = LedgerWriter(engine, ledger_key, policy.sources_of)
    records = RecordActivities(engine, ledger)
    # The gate (the incident's first record) and apply (the step's applied record) write
    # through the same writer as the record activities: one write path per row.
    gate = GateActivities(
        policy,
        signer,
        settings,
        make_facts_gatherer(engine),
        WhatIfEngines(engine, settings),
        records.writer,
    )
    actuators = ActuatorActivities(http, settings, signer, records.writer, database=engine)
    simulation = SimulationActivities(engine, ledger, settings)
    opener = IncidentOpener(client, open_incident)
    deliveries = DeliveryActivities(engine)
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
        IncidentAlerts(ledger).alert,
        simulation.recorded_gates,
        simulation.evaluate_policy,
        simulation.record_simulation,
        opener.open_or_attach,
        opener.outcome,
        IncidentSweeper(client, engine, ledger_key).sweep,
        BreachPrediction(settings, http, engine).predict,
        deliveries.triage,
        deliveries.advise,
        deliveries.detect,
        MonitorScoring(settings, http, engine).score_window,
    ]
