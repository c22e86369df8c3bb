"""Builds every activity a Steward worker registers, from one set of shared clients."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client

from activities import names
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
    """Return the activity callables for a worker: each under its name and its legacy name.

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
    actuators = ActuatorActivities(http, settings, signer, records.writer, database=engine)
    gate = GateActivities(
        policy,
        signer,
        settings,
        make_facts_gatherer(engine),
        WhatIfEngines(engine, settings),
        records.writer,
        actuator_context=actuators.context,
    )
    simulation = SimulationActivities(engine, ledger, settings)
    opener = IncidentOpener(client, open_incident)
    deliveries = DeliveryActivities(engine)
    current: list[Callable[..., Any]] = [
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
    return [*current, *(legacy_alias(fn) for fn in current)]


def legacy_alias(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The activity ``fn`` once more, registered under its name from ``names.LEGACY_NAMES``.

    Runs recorded before the ``steward.<area>.<verb>`` scheme schedule the legacy names, on
    replay and after (see ``workflows.activity_names``), and tasks they scheduled may still be
    queued when the worker upgrades. The alias calls the same bound callable; it takes the
    signature and type hints of ``fn`` (through ``__wrapped__``) so its arguments decode to the
    same types, but not its ``__dict__``, which holds the definition under the new name.

    Raises:
        TypeError: ``fn`` is not an activity.
        KeyError: Its name is not in ``names.LEGACY_NAMES``.
    """
    # The SDK's own lookup of a callable's definition (no public accessor exists); a version
    # that changed it fails tests/activities/test_names.py, not production quietly.
    current = activity._Definition.must_from_callable(fn).name
    if current is None:
        raise TypeError(f"{fn!r} is a dynamic activity: it has no name to alias")
    legacy = names.LEGACY_NAMES[current]
    alias: Callable[..., Any]
    if inspect.iscoroutinefunction(fn):

        async def call_async(*args: Any) -> Any:
            return await fn(*args)

        alias = call_async
    else:

        def call_sync(*args: Any) -> Any:
            return fn(*args)

        alias = call_sync
    functools.update_wrapper(alias, fn, updated=())
    return activity.defn(name=legacy)(alias)
