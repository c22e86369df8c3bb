"""Audit routes: evidence packs, decision cards, undo, what-if simulations, ledger verify."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.core.db import get_engine
from api.core.permissions import Permission
from api.core.settings import get_settings
from api.http.deps import ClientDep, PrincipalDep, allow, take_simulation_quota
from api.ledger.keys import ledger_signer, ledger_verifier
from api.services.audit.card import UnknownCardError, decision_card
from api.services.audit.history import HistoryUnavailableError
from api.services.audit.pack import PackError, build_pack
from api.services.audit.simulate import (
    PoliciesTooLargeError,
    SimulationInputError,
    check_policies_size,
    render,
    run_simulation,
)
from api.services.audit.undo import UndoRefusedError, UnknownIncidentError, start_undo
from api.services.audit.verify import UnknownIncidentError as UnknownLedgerIncidentError
from api.services.audit.verify import verify_ledger

router = APIRouter(prefix="/api/v1", tags=["audit"])


class SimulationIn(BaseModel):
    """A what-if bundle by its sources, and optionally a playbook to re-run in simulate mode."""

    policies: dict[str, str] = Field(
        min_length=1, description="Bundle sources by relative path: *.rego files and data.json."
    )
    playbook: str | None = None


class UndoOut(BaseModel):
    """The started undo run: what it reverses (newest first) and what it cannot."""

    undo_id: str
    incident_id: str
    undoing: list[dict[str, Any]]
    irreversible: list[str]


@router.get(
    "/incidents/{incident_id}/evidence",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}},
        404: {"description": "No incident has this id, or no history to pack"},
    },
    dependencies=[allow(Permission.INCIDENTS_READ)],
)
async def evidence(incident_id: str, client: ClientDep) -> Response:
    """Download the incident's signed evidence pack (verify with ``steward audit verify-pack``)."""
    engine, signer = get_engine(), ledger_signer(get_settings())
    try:
        data, warnings = await build_pack(engine, signer, client, incident_id)
    except (PackError, HistoryUnavailableError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    headers = {"Content-Disposition": f'attachment; filename="{incident_id}-evidence.zip"'}
    if warnings:
        headers["X-Steward-Warnings"] = "; ".join(warnings)
    return Response(data, media_type="application/zip", headers=headers)


_UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "No incident has this id"}}


@router.get(
    "/incidents/{incident_id}/card",
    responses=_UNKNOWN,
    dependencies=[allow(Permission.INCIDENTS_READ)],
)
def card(incident_id: str) -> dict[str, Any]:
    """The decision card: detection, policy rules and bundle, approvals, changes, undo status."""
    try:
        return decision_card(get_engine(), ledger_verifier(get_settings()), incident_id)
    except UnknownCardError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.post(
    "/incidents/{incident_id}/undo",
    response_model=UndoOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **_UNKNOWN,
        409: {"description": "Refused: running, never applied, or already undone"},
    },
    dependencies=[allow(Permission.INCIDENTS_OPEN)],
)
async def undo(incident_id: str, client: ClientDep, principal: PrincipalDep) -> UndoOut:
    """Start the undo run; each undo step passes the gate (and approval) like any action."""
    settings = get_settings()
    try:
        plan = await start_undo(
            client, get_engine(), settings, ledger_verifier(settings), incident_id, principal.name
        )
    except UnknownIncidentError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except UndoRefusedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, exc.reason) from exc
    return UndoOut(
        undo_id=plan.undo_id,
        incident_id=incident_id,
        undoing=[asdict(t) for t in reversed(plan.targets)],
        irreversible=plan.irreversible,
    )


@router.post(
    "/incidents/{incident_id}/simulations",
    responses={
        **_UNKNOWN,
        413: {"description": "The bundle is over a size limit (the message names it)"},
        422: {"description": "The bundle does not compile or exceeded a memory or time limit"},
        429: {"description": "The key's simulation quota is used up (see Retry-After)"},
    },
    dependencies=[allow(Permission.INCIDENTS_READ)],
)
async def simulate(
    incident_id: str, body: SimulationIn, client: ClientDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Re-decide the incident's recorded gate inputs under the given bundle (a workflow).

    The bundle is size-checked here, then compiled and evaluated in a sandbox process with
    memory and time limits; each simulation counts against the key's simulation quota.
    """
    try:
        check_policies_size(body.policies)
    except PoliciesTooLargeError as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from exc
    await run_in_threadpool(take_simulation_quota, principal)
    try:
        simulation_id, result = await run_simulation(
            client, get_engine(), get_settings(), incident_id, body.policies, body.playbook
        )
    except SimulationInputError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    if result.error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, result.error)
    return {"simulation_id": simulation_id, **asdict(result), "diff": render(result)}


@router.get(
    "/audit/verify",
    responses={404: {"description": "The incident asked for is not in the ledger"}},
    dependencies=[allow(Permission.INCIDENTS_READ)],
)
async def verify(client: ClientDep, incident: str | None = None) -> dict[str, Any]:
    """Check the ledger's chains and signatures and cross-check Temporal history."""
    try:
        report = await verify_ledger(
            get_engine(), ledger_verifier(get_settings()), client, incident
        )
    except UnknownLedgerIncidentError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return {"ok": report.ok, **asdict(report)}
