"""Opening incidents: fingerprints, playbook lookup and the deduplicating workflow start."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.incidents.types import BadIncidentError, OpenIncident, OpenRequest, OpenResult
from activities.records.incident_rows import insert_evidence, insert_opened_incident
from api.core.catalog import Catalog
from api.core.settings import Settings
from api.models import Incident
from api.schemas.incidents import IncidentCreate
from api.services.plugins import playbooks
from workflows.playbook_params import describe_errors, param_errors
from workflows.types import Evidence, IncidentInput


class UnknownPlaybookError(LookupError):
    """The request names a playbook that is not registered."""


class InvalidParamsError(ValueError):
    """The params do not match the playbook's schema; ``errors`` name each field.

    Attributes:
        errors: ``{"loc", "msg", "type"}`` per problem, ``loc`` the path inside ``params``.
    """

    def __init__(self, playbook: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"invalid parameters for playbook {playbook}: {describe_errors(errors)}")
        self.errors = errors


def check_params(
    playbook: str,
    params: dict[str, Any],
    *,
    catalog: Catalog | None = None,
    service: str | None = None,
) -> None:
    """Check ``params`` against the schema of the registered playbook ``playbook``.

    With ``catalog`` and ``service``, also against what the catalog says of the service (a
    container it lets actions change, a cluster it knows: ``catalog_problems``).

    Raises:
        InvalidParamsError: Naming each bad field.
    """
    try:
        checked = playbooks()[playbook].params_model.model_validate(params)
    except ValidationError as exc:
        raise InvalidParamsError(playbook, param_errors(exc)) from None
    if catalog is None or service is None:
        return
    problems = checked.catalog_problems(catalog=catalog, service=service)
    if problems:
        errors = [{"loc": [field], "msg": msg, "type": "value_error"} for field, msg in problems]
        raise InvalidParamsError(playbook, errors)


def deadline_of(playbook: str, settings: Settings) -> float:
    """Seconds an incident's run may take: the playbook's own deadline, else the setting."""
    return playbooks()[playbook].deadline_seconds or settings.incident_deadline_seconds


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
    known = playbooks()
    if name not in known:
        raise UnknownPlaybookError(
            f"unknown playbook {name!r}; known playbooks: {', '.join(sorted(known))}"
        )
    return name


async def attach_evidence(client: Client, session: Session, ident: str, evidence: Evidence) -> None:
    """Store evidence for an incident and signal it to the incident's run, if still running."""
    insert_evidence(session, ident, evidence)
    try:
        await client.get_workflow_handle(ident).signal("attach_evidence", evidence)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        # The run already ended: the evidence stays on the incident's record only.


async def open_incident(
    client: Client,
    session: Session,
    settings: Settings,
    body: IncidentCreate,
    opened_by: str,
    evidence: Evidence | None = None,
) -> tuple[Incident, bool]:
    """Start the incident's playbook unless the same fingerprint already has one.

    New ``evidence`` for an incident that is already open is attached to it (stored, and
    signalled to its running workflow) instead of opening another.

    Returns:
        The incident row and whether it was newly opened.

    Raises:
        UnknownPlaybookError: No such playbook.
        InvalidParamsError: The params do not match the playbook's schema; nothing started.
        KeyError: Unknown service, naming the known ones of the catalog.
        CatalogError: The catalog file changed since start-up and no longer validates.
        RPCError: Temporal did not answer (the API answers 503). The row is written only after
            the workflow started, so nothing is left half-opened; evidence for an open incident
            is stored before it is signalled, and sending it again signals it again (the
            stored copy is deduplicated by its key).
    """
    known_playbook(body.playbook)
    catalog = settings.catalog()
    catalog.service(body.service)  # raises KeyError naming the known services
    check_params(body.playbook, body.params, catalog=catalog, service=body.service)
    start = window_start(datetime.now(UTC), settings.incident_window_seconds)
    ident = incident_id(body.service, body.signal, body.mode, start)
    existing = session.get(Incident, ident)
    if existing is not None:
        if evidence is not None:
            await attach_evidence(client, session, ident, evidence)
        return existing, False
    deadline = deadline_of(body.playbook, settings)
    workflow_input = IncidentInput(
        service=body.service,
        signal=body.signal,
        severity=body.severity,
        opened_by=opened_by,
        window_start=start.isoformat(),
        mode=body.mode,
        params=body.params,
        summary=body.summary,
        evidence=[evidence] if evidence is not None else [],
        deadline_seconds=deadline,
    )
    created = True
    try:
        # With evidence, signal-with-start: a run that a concurrent opener started gets the
        # evidence as a signal instead of losing it.
        await client.start_workflow(
            body.playbook,
            workflow_input,
            id=ident,
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            start_signal="attach_evidence" if evidence is not None else None,
            start_signal_args=[evidence] if evidence is not None else [],
            # A backstop beyond the run's own deadline, for a run that cannot even compensate.
            execution_timeout=timedelta(
                seconds=deadline + settings.incident_deadline_grace_seconds
            ),
        )
    except WorkflowAlreadyStartedError:
        created = False  # the same fingerprint ran to completion in this window
    # The workflow's own first record may have written the row already: then it is kept.
    insert_opened_incident(
        session,
        incident_id=ident,
        service=body.service,
        signal=body.signal,
        severity=body.severity,
        playbook=body.playbook,
        mode=body.mode,
        opened_by=opened_by,
        window_start=start,
        summary=body.summary,
    )
    session.expire_all()
    if evidence is not None:
        insert_evidence(session, ident, evidence)
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


def opener_for_findings(client: Client, engine: Engine, settings: Settings) -> OpenIncident:
    """Return the opener the worker gives the open-or-attach activity: this module's path.

    Detection, forecasts and delivery watches open incidents exactly as the REST API does:
    the same checks, fingerprint, deduplication and evidence handling.
    """

    async def open_finding(request: OpenRequest) -> OpenResult:
        with Session(engine) as session:
            try:
                body = IncidentCreate(
                    service=request.service,
                    signal=request.signal,
                    severity=request.severity,  # type: ignore[arg-type]
                    playbook=request.playbook,
                    mode=request.mode,  # type: ignore[arg-type]
                    params=request.params,
                    summary=request.summary,
                )
                row, created = await open_incident(
                    client, session, settings, body, request.opened_by, request.evidence
                )
            except (UnknownPlaybookError, InvalidParamsError, KeyError, ValidationError) as exc:
                raise BadIncidentError(str(exc.args[0] if exc.args else exc)) from exc
            return OpenResult(incident_id=row.id, created=created, status=row.status)

    return open_finding
