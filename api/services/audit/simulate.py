"""What-if simulations: read a policy directory, start the simulation workflow, render the diff."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from activities.policy.limits import BundleLimits, BundleTooLargeError, check_bundle_size
from api.core.settings import Settings, get_settings
from api.models import Incident
from api.services.audit.history import HistoryUnavailableError, fetch_history, history_facts
from api.services.incidents import known_playbook
from workflows.audit_types import SimulationRequest, SimulationResult
from workflows.simulation import SIMULATION_WORKFLOW
from workflows.types import IncidentInput

DATA_FILE = "data.json"


class SimulationInputError(ValueError):
    """Bad simulation input: unknown incident or playbook, unreadable policy directory."""


def read_policy_dir(directory: Path) -> dict[str, str]:
    """Return a bundle's sources: every ``*.rego`` but ``*_test.rego``, and ``data.json``.

    Raises:
        SimulationInputError: Not a directory, no Rego files, unreadable, or over a bundle
            size limit (``STEWARD_POLICY_BUNDLE_MAX_BYTES`` and the others).
    """
    if not directory.is_dir():
        raise SimulationInputError(f"{directory}: not a policy directory")
    names = [
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*.rego")
        if p.is_file() and not p.name.endswith("_test.rego")
    ]
    if not names:
        raise SimulationInputError(f"{directory}: no .rego files")
    if (directory / DATA_FILE).is_file():
        names.append(DATA_FILE)
    try:
        files = {name: (directory / name).read_text() for name in sorted(names)}
    except (OSError, UnicodeDecodeError) as exc:
        raise SimulationInputError(f"{directory}: {exc}") from exc
    try:
        check_bundle_size(files, BundleLimits.from_settings(get_settings()))
    except BundleTooLargeError as exc:
        raise SimulationInputError(f"{directory}: {exc.message}") from exc
    return files


def check_policies_size(files: dict[str, str]) -> None:
    """Refuse a what-if bundle over the configured size limits before anything compiles it.

    Raises:
        PoliciesTooLargeError: Saying which limit the bundle exceeds.
    """
    try:
        check_bundle_size(files, BundleLimits.from_settings(get_settings()))
    except BundleTooLargeError as exc:
        raise PoliciesTooLargeError(exc.message) from exc


class PoliciesTooLargeError(ValueError):
    """A what-if bundle exceeds the configured size limits (answered 413)."""


async def recorded_input(client: Client, incident_id: str) -> IncidentInput:
    """Return the input the incident's playbook was started with, from its history.

    Raises:
        SimulationInputError: The history is gone or its input is not an incident.
    """
    try:
        history = await fetch_history(client, incident_id)
    except HistoryUnavailableError as exc:
        raise SimulationInputError(str(exc)) from exc
    start = history_facts(json.loads(history.to_json())).start_input
    try:
        return IncidentInput(**start)
    except TypeError as exc:
        raise SimulationInputError(f"{incident_id} was not started with an incident") from exc


async def run_simulation(
    client: Client,
    engine: Engine,
    settings: Settings,
    incident_id: str,
    policy_files: dict[str, str],
    playbook: str | None = None,
) -> tuple[str, SimulationResult]:
    """Run the simulation workflow to completion.

    Returns:
        The simulation's workflow id and its result.

    Raises:
        SimulationInputError: Unknown incident or playbook, or no recorded input to re-run.
    """
    with Session(engine) as session:
        if session.get(Incident, incident_id) is None:
            raise SimulationInputError(f"no incident {incident_id!r}")
    incident = None
    if playbook is not None:
        try:
            known_playbook(playbook)
        except LookupError as exc:
            raise SimulationInputError(str(exc)) from exc
        incident = await recorded_input(client, incident_id)
    simulation_id = f"{incident_id}-sim-{uuid.uuid4().hex[:8]}"
    result = await client.execute_workflow(
        SIMULATION_WORKFLOW,
        SimulationRequest(
            incident_id=incident_id, policy_files=policy_files, playbook=playbook, incident=incident
        ),
        id=simulation_id,
        task_queue=settings.task_queue,
        result_type=SimulationResult,
    )
    return simulation_id, result


def render(result: SimulationResult) -> list[str]:
    """Return the side-by-side diff as text lines."""
    if result.error:
        return [f"simulation failed: {result.error}"]
    lines = [
        f"incident {result.incident_id}: recorded bundle(s) "
        f"{', '.join(b[:12] for b in result.recorded_bundles) or 'none'} -> what-if bundle "
        f"{result.bundle_sha256[:12]}",
        f"{'step':>4}  {'action':<22} {'recorded':<18} {'what-if':<18} change",
    ]
    for d in result.decisions:
        lines.append(
            f"{d.step:>4}  {d.actuator:<22} {d.recorded:<18} {d.simulated:<18} {d.change}"
            + (f"  ({'; '.join(d.reasons)})" if d.change != "same" and d.reasons else "")
        )
    if not result.decisions:
        lines.append("      (no recorded gate decisions)")
    if result.playbook:
        lines.append(f"re-run of playbook {result.playbook} in simulate mode, what-if decisions:")
        for d in result.plan:
            lines.append(f"{d.step:>4}  {d.actuator:<22} {'':<18} {d.simulated:<18}")
        lines.append("different actions:" if result.action_changes else "same actions")
        lines.extend(f"  {line}" for line in result.action_changes)
    changed = sum(d.change != "same" for d in result.decisions)
    lines.append(f"{changed} of {len(result.decisions)} recorded decision(s) change")
    return lines
