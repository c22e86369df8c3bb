"""Policy administration: the kill switch, change freezes and reloads, with who and why.

Every role may read the policy's runtime state; changing it takes ``policy:manage`` (admins).
Changes reach the gate at its next decision: the facts gatherer reads them from the app
database, and workers reload when they see a newer recorded reload.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.concurrency import run_in_threadpool

from api.core.permissions import Permission
from api.core.settings import get_settings
from api.http.deps import PrincipalDep, SessionDep, allow
from api.models.policy import PolicyChange, PolicyFreeze
from api.schemas.errors import ValidationErrorOut
from api.schemas.fields import MAX_DB_INTEGER, Reason, ZonedTime
from api.schemas.incidents import NAME_PATTERN
from api.services import policy as policies

router = APIRouter(prefix="/api/v1/policy", tags=["policy"])

# Safety controls take exactly what they declare: "yes" and 0 are not booleans, and a time
# is an RFC 3339 string, not an epoch number; unknown fields are refused, not ignored.
_SAFETY_CONTROL = ConfigDict(extra="forbid")


class KillSwitchIn(BaseModel):
    """Turn the kill switch on (every action is denied) or off."""

    model_config = _SAFETY_CONTROL

    enabled: StrictBool = Field(description="true or false; nothing else is read as a boolean")
    reason: Reason


class FreezeIn(BaseModel):
    """A change freeze over ``[starts_at, ends_at)``; empty lists mean every service/tier."""

    model_config = _SAFETY_CONTROL

    starts_at: ZonedTime
    ends_at: ZonedTime
    reason: Reason
    services: list[Annotated[str, Field(max_length=100, pattern=NAME_PATTERN)]] = Field(
        default_factory=list
    )
    tiers: list[Literal["info", "warn", "critical"]] = Field(default_factory=list)


class ReloadIn(BaseModel):
    """Why the policy is being reloaded."""

    model_config = _SAFETY_CONTROL

    reason: Reason


class ReloadProblems(BaseModel):
    """Why a reload was refused: the bundle's problems (``file:line: message``)."""

    message: str
    change_id: int | None
    problems: list[str]


class ReloadRefusedOut(BaseModel):
    """A reload refused because the policy does not compile or check."""

    detail: ReloadProblems


class FreezeOut(BaseModel):
    """A freeze window and who set it."""

    id: int
    starts_at: datetime
    ends_at: datetime
    services: list[str]
    tiers: list[str]
    reason: str
    created_by: str
    created_at: datetime
    removed_at: datetime | None
    removed_by: str | None
    removed_reason: str | None


class ChangeOut(BaseModel):
    """One recorded change to the policy."""

    id: int
    kind: str
    principal: str
    reason: str
    detail: dict[str, Any]
    created_at: datetime


class PolicyStateOut(BaseModel):
    """The policy's runtime state and its recent changes."""

    engine: str
    policy_dir: str
    bundle_sha256: str
    reload_generation: int
    kill_switch: dict[str, Any] | None
    freezes: list[FreezeOut]
    changes: list[ChangeOut]


class ReloadOut(BaseModel):
    """A reload that compiled and was recorded; workers pick it up at their next decision."""

    change_id: int
    bundle_sha256: str


def _freeze_out(freeze: PolicyFreeze) -> FreezeOut:
    return FreezeOut.model_validate(freeze, from_attributes=True)


def _change_out(change: PolicyChange) -> ChangeOut:
    return ChangeOut.model_validate(change, from_attributes=True)


@router.get("", response_model=PolicyStateOut, dependencies=[allow(Permission.CATALOG_READ)])
def policy_state(
    session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> PolicyStateOut:
    """The kill switch, the freezes still to come or in force, and the newest changes."""
    settings = get_settings()
    state = policies.policy_state(session, directory=settings.policy_dir, limit=limit)
    return PolicyStateOut(
        engine=settings.policy_engine,
        policy_dir=str(settings.policy_dir),
        bundle_sha256=state.bundle_sha256,
        reload_generation=state.reload_generation,
        kill_switch=state.kill_switch,
        freezes=[_freeze_out(f) for f in state.freezes],
        changes=[_change_out(c) for c in state.changes],
    )


@router.put(
    "/kill-switch", response_model=ChangeOut, dependencies=[allow(Permission.POLICY_MANAGE)]
)
def set_kill_switch(body: KillSwitchIn, session: SessionDep, principal: PrincipalDep) -> ChangeOut:
    """Turn the kill switch on or off; the next decision of every worker sees it."""
    change = policies.set_kill_switch(session, body.enabled, principal.name, body.reason)
    return _change_out(change)


@router.post(
    "/freezes",
    response_model=FreezeOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[allow(Permission.POLICY_MANAGE)],
)
def add_freeze(body: FreezeIn, session: SessionDep, principal: PrincipalDep) -> FreezeOut:
    """Add a change freeze window."""
    spec = policies.FreezeSpec(
        body.starts_at, body.ends_at, body.reason, body.services, list(body.tiers)
    )
    try:
        freeze = policies.add_freeze(session, spec, principal.name)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return _freeze_out(freeze)


@router.delete(
    "/freezes/{freeze_id}",
    response_model=FreezeOut,
    responses={404: {"description": "No freeze with this id is still in place"}},
    dependencies=[allow(Permission.POLICY_MANAGE)],
)
def remove_freeze(
    freeze_id: Annotated[int, Path(ge=1, le=MAX_DB_INTEGER)],
    session: SessionDep,
    principal: PrincipalDep,
    reason: Annotated[Reason, Query(description="Why the freeze ends early")],
) -> FreezeOut:
    """End a freeze now (the record stays, marked removed, with who and why)."""
    try:
        freeze = policies.remove_freeze(session, freeze_id, principal.name, reason)
    except policies.FreezeNotFoundError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return _freeze_out(freeze)


@router.post(
    "/reload",
    response_model=ReloadOut,
    responses={
        422: {
            "model": ReloadRefusedOut | ValidationErrorOut,
            "description": "The policy does not compile or check, or the request is not valid",
        }
    },
    dependencies=[allow(Permission.POLICY_MANAGE)],
)
async def reload(body: ReloadIn, session: SessionDep, principal: PrincipalDep) -> ReloadOut:
    """Check the policy directory and have every worker reload it.

    The check runs in a sandbox process with memory and time limits, after the bundle's
    size limits. A bundle that fails to compile, whose data or facts do not check, or that
    breaks a limit is refused with 422 and its problems (``file:line: message``, or the
    limit and its setting); the running bundle stays active.
    """
    # Compiling takes a second of CPU: off the event loop.
    report, change = await run_in_threadpool(
        lambda: policies.reload_policy(
            session,
            directory=get_settings().policy_dir,
            principal=principal.name,
            reason=body.reason,
        )
    )
    if not report.ok or report.bundle_sha256 is None:
        detail = {
            "message": "the policy was refused; the running bundle stays active",
            "change_id": change.id,
            "problems": [str(p) for p in report.problems],
        }
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
    assert change.id is not None
    return ReloadOut(change_id=change.id, bundle_sha256=report.bundle_sha256)
