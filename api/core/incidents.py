"""Opening incidents: fingerprints, playbook lookup and the deduplicating workflow start."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.core.settings import Settings
from api.models import Incident
from api.schemas import IncidentCreate
from workflows.playbooks import PLAYBOOKS
from workflows.types import IncidentInput


class UnknownPlaybookError(LookupError):
    """The request names a playbook that is not registered."""


def window_start(now: datetime, window_seconds: int) -> datetime:
    """Return the start of the fingerprint window that contains ``now``."""
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, tz=UTC)


def incident_id(service: str, signal: str, mode: str, start: datetime) -> str:
    """Derive the incident (and workflow) id from its fingerprint.

    The same service, signal and mode inside one window always give the same id, which
    is what makes Temporal refuse a duplicate.
    """
    fingerprint = f"{service}|{signal}|{mode}|{start.isoformat()}"
    return "inc-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:24]


def known_playbook(name: str) -> str:
    """Return ``name`` when it is a registered playbook.

    Raises:
        UnknownPlaybookError: naming the known playbooks.
    """
    if name not in PLAYBOOKS:
        raise UnknownPlaybookError(
            f"unknown playbook {name!r}; known playbooks: {', '.join(sorted(PLAYBOOKS))}"
        )
    return name


async def open_incident(
    client: Client, session: Session, settings: Settings, body: IncidentCreate, opened_by: str
) -> tuple[Incident, bool]:
    """Start the incident's playbook unless the same fingerprint already has one.

    Returns:
        The incident row and whether it was newly opened.
    """
    known_playbook(body.playbook)
    settings.target_url(body.service)  # raises KeyError naming the known services
    start = window_start(datetime.now(UTC), settings.incident_window_seconds)
    ident = incident_id(body.service, body.signal, body.mode, start)
    existing = session.get(Incident, ident)
    if existing is not None:
        return existing, False
    workflow_input = IncidentInput(
        body.service,
        body.signal,
        body.severity,
        opened_by,
        start.isoformat(),
        body.mode,
        body.params,
        body.summary,
    )
    created = True
    try:
        await client.start_workflow(
            body.playbook,
            workflow_input,
            id=ident,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        created = False  # the same fingerprint ran to completion in this window
    row = Incident(
        id=ident,
        service=body.service,
        signal=body.signal,
        severity=body.severity,
        playbook=body.playbook,
        mode=body.mode,
        opened_by=opened_by,
        window_start=start,
        summary=body.summary,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # The workflow's own record activity got there first: the row is already right.
        session.rollback()
    session.expire_all()
    stored = session.get(Incident, ident)
    assert stored is not None
    return stored, created


async def wait_for_simulation(
    client: Client, session: Session, row: Incident, timeout: float = 30.0
) -> Incident:
    """Wait for a simulate-mode run to finish and return its row with the recorded plan.

    A simulation applies nothing and waits for nobody, so it ends quickly; if it has not
    ended within ``timeout`` the row is returned as it stands and the plan comes later.
    """
    try:
        await asyncio.wait_for(client.get_workflow_handle(row.id).result(), timeout)
    except (TimeoutError, WorkflowFailureError):
        return row
    session.expire_all()
    return session.get(Incident, row.id) or row
