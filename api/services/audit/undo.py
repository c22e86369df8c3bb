"""Undo: plan from the ledger's signed apply entries, refuse what cannot be undone, start it.

The plan comes from the ledger, not the step rows: the before-snapshots it restores are the
signed ones, and an incident whose chain is broken is not undone at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.core.settings import Settings
from api.core.temporal import is_transport_failure, unreachable
from api.ledger.chain import check_incident_chain
from api.ledger.keys import LedgerVerifier
from api.ledger.store import entry_dict, incident_entries
from api.models import Incident
from workflows.audit_types import UndoRequest, UndoTarget
from workflows.types import IncidentInput
from workflows.undo import UNDO_WORKFLOW

UNDO_SUFFIX = "-undo"
STILL_RUNNING = ("open", "running", "awaiting_approval")


class UnknownIncidentError(LookupError):
    """No incident has the given id."""


class UndoRefusedError(Exception):
    """The incident cannot be undone; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class UndoPlan:
    """What an undo of one incident would reverse, newest last (the run reverses the order)."""

    incident_id: str
    undo_id: str
    targets: list[UndoTarget] = field(default_factory=list)
    irreversible: list[str] = field(default_factory=list)


def undo_id(incident_id: str) -> str:
    """Return the id of the (single) undo run of ``incident_id``."""
    return incident_id + UNDO_SUFFIX


def plan_undo(engine: Engine, verifier: LedgerVerifier, incident_id: str) -> UndoPlan:
    """Return the reversible applied actions of a finished incident, or refuse with a reason.

    Raises:
        UnknownIncidentError: No such incident.
        UndoRefusedError: Still running, an undo run itself, in simulate mode, already
            undone, never applied anything, nothing reversible left, or a broken ledger chain.
    """
    with Session(engine) as session:
        row = session.get(Incident, incident_id)
        undone = session.get(Incident, undo_id(incident_id))
    if row is None:
        raise UnknownIncidentError(f"no incident {incident_id!r}")
    if row.playbook == UNDO_WORKFLOW:
        raise UndoRefusedError(f"{incident_id} is itself an undo run; it cannot be undone")
    if row.mode != "apply":
        raise UndoRefusedError(f"{incident_id} ran in {row.mode} mode and never applied anything")
    if row.status in STILL_RUNNING:
        raise UndoRefusedError(
            f"{incident_id} is still running (status {row.status}); undo it once it has finished"
        )
    if undone is not None:
        raise UndoRefusedError(
            f"{incident_id} was already undone by {undone.id} (status {undone.status})"
        )
    entries = [entry_dict(e) for e in incident_entries(engine, incident_id)]
    problem = check_incident_chain(entries, verifier)
    if problem is not None:
        raise UndoRefusedError(f"the ledger of {incident_id} is broken: {problem.describe()}")
    plan = UndoPlan(incident_id, undo_id(incident_id))
    applied = [(e, json.loads(e["payload"])) for e in entries if e["kind"] == "apply"]
    compensated = {e["step"] for e in entries if e["kind"] == "undo"}
    for entry, payload in applied:
        label = f"step {entry['step']} {payload['name']}"
        if payload.get("reversible") is False:
            plan.irreversible.append(label)
        elif entry["step"] not in compensated:
            plan.targets.append(
                UndoTarget(
                    step=entry["step"],
                    actuator=payload["name"],
                    params=payload["params"],
                    before=payload["before"],
                )
            )
    if not applied:
        raise UndoRefusedError(f"{incident_id} never applied an action (status {row.status})")
    if not plan.targets:
        reasons = []
        if compensated:
            reasons.append(f"step(s) {', '.join(map(str, sorted(compensated)))} were compensated")
        if plan.irreversible:
            reasons.append(f"irreversible: {', '.join(plan.irreversible)}")
        raise UndoRefusedError(f"nothing of {incident_id} is left to undo: {'; '.join(reasons)}")
    return plan


async def start_undo(
    client: Client,
    engine: Engine,
    settings: Settings,
    verifier: LedgerVerifier,
    incident_id: str,
    principal: str,
) -> UndoPlan:
    """Plan the undo and start its workflow; a second undo of one incident is refused.

    Raises:
        UnknownIncidentError: No such incident.
        UndoRefusedError: See :func:`plan_undo`; also when the workflow still runs in Temporal
            or an undo run already exists there.
    """
    plan = plan_undo(engine, verifier, incident_id)
    try:
        description = await client.get_workflow_handle(incident_id).describe()
    except RPCError as exc:
        if is_transport_failure(exc):
            raise unreachable(client, exc) from exc
        description = None  # past retention: the ledger and the database decide alone
    if description is not None and description.status == WorkflowExecutionStatus.RUNNING:
        raise UndoRefusedError(f"{incident_id} is still running; undo it once it has finished")
    with Session(engine) as session:
        row = session.get(Incident, incident_id)
    assert row is not None, "plan_undo found it"
    incident = IncidentInput(
        service=row.service,
        signal="undo",
        severity=row.severity,
        opened_by=principal,
        window_start=datetime.now(UTC).isoformat(),
        params={"undoes": incident_id},
        summary=f"undo of {incident_id}",
    )
    request = UndoRequest(
        incident_id=incident_id,
        incident=incident,
        targets=plan.targets,
        irreversible=plan.irreversible,
    )
    undo_timeout = settings.incident_deadline_seconds + settings.incident_deadline_grace_seconds
    try:
        await client.start_workflow(
            UNDO_WORKFLOW,
            request,
            id=plan.undo_id,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            # The undo run has no deadline of its own: this ends one that waits forever (its
            # row is then closed by the incident sweeper).
            execution_timeout=timedelta(seconds=undo_timeout),
        )
    except WorkflowAlreadyStartedError as exc:
        raise UndoRefusedError(f"{incident_id} was already undone by {plan.undo_id}") from exc
    return plan
