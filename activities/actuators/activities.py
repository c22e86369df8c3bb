"""Activities that snapshot, apply, undo and verify through the actuator registry.

Every call that changes something first checks its signed authorization against the
activity's own workflow id, so a decision can never be replayed onto another call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import names
from activities.actuators.http import HttpCallError
from activities.actuators.registry import (
    ActionRefusedError,
    ActuatorContext,
    InvalidParametersError,
    IrreversibleError,
    UnknownNameError,
    get_actuator,
    get_check,
    parse_params,
)
from activities.actuators.verification import Observation, VerifyProgress
from activities.policy.signing import AuthorizationError, DecisionSigner
from activities.records.writer import RecordWriter
from activities.types import ActuatorCall, UndoCall, VerifyRequest, VerifyResult
from api.core.catalog import NoAdminUrlError
from api.core.settings import Settings


def non_retryable(exc: Exception) -> ApplicationError:
    """Wrap a failure that no retry can fix, keeping its kind as the error type."""
    kind = {
        AuthorizationError: "Unauthorized",
        UnknownNameError: "UnknownName",
        InvalidParametersError: "InvalidParameters",
        IrreversibleError: "IrreversibleError",
    }.get(type(exc), "ActuatorRejected")
    return ApplicationError(str(exc), type=kind, non_retryable=True)


@asynccontextmanager
async def heartbeating(
    every: float = 1.0, details: Callable[[], Any] | None = None
) -> AsyncIterator[None]:
    """Heartbeat while the body runs, so a killed worker is noticed within the heartbeat timeout.

    Args:
        every: Seconds between heartbeats.
        details: Returns the details each heartbeat carries (what a retry resumes from).
    """
    if not activity.in_activity() or activity.info().heartbeat_timeout is None:
        yield
        return

    async def beat() -> None:
        while True:
            activity.heartbeat(*(() if details is None else (details(),)))
            await asyncio.sleep(every)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()


class ActuatorActivities:
    """Actuator activities; one instance per worker holds the shared HTTP client."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: Settings,
        signer: DecisionSigner,
        records: RecordWriter | None = None,
        *,
        database: Engine | None = None,
    ) -> None:
        self._http = http
        self._settings = settings
        self._signer = signer
        self._records = records
        self._database = database

    def context(self, key: str = "", before: dict[str, Any] | None = None) -> ActuatorContext:
        """The context actuators get: the worker's clients and settings, ``key`` and ``before``."""
        return ActuatorContext(self._http, self._settings, key, self._database, before)

    async def _guarded(self, work: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """Run ``work``, turning target 4xx answers and our own refusals into final errors."""
        try:
            return await work()
        except (
            AuthorizationError,
            UnknownNameError,
            InvalidParametersError,
            IrreversibleError,
            ActionRefusedError,
            # An HTTP actuator on a Kubernetes service: no retry will give it an admin URL.
            NoAdminUrlError,
        ) as exc:
            raise non_retryable(exc) from exc
        except httpx.HTTPStatusError as exc:
            if HttpCallError("", exc.response.status_code).permanent:
                raise non_retryable(exc) from exc
            raise
        except HttpCallError as exc:
            if exc.permanent:
                raise non_retryable(exc) from exc
            raise

    def _authorize(self, call: ActuatorCall | UndoCall) -> Any:
        actuator = get_actuator(call.actuator)
        params = parse_params(actuator.params_model, call.params, call.actuator)
        self._signer.verify(
            call.authorization,
            workflow_id=activity.info().workflow_id or "",
            step=call.step,
            actuator=call.actuator,
            params=call.params,
        )
        return actuator, params

    @activity.defn(name=names.ACTUATOR_SNAPSHOT)
    async def snapshot(self, call: ActuatorCall) -> dict[str, Any]:
        """Record the target's before-state (needs the same authorization as apply)."""

        async def work() -> dict[str, Any]:
            actuator, params = self._authorize(call)
            return await actuator.snapshot(self.context(), params)

        return await self._guarded(work)

    @activity.defn(name=names.ACTUATOR_APPLY)
    async def apply(self, call: ActuatorCall) -> dict[str, Any]:
        """Apply one authorized call with the idempotency key ``<workflow id>:<step>``.

        When the call carries its step's record, the record is written as ``applied`` with the
        result before the activity completes; a failed write retries the activity, and the
        idempotency key keeps the retry from applying twice.
        """

        async def work() -> dict[str, Any]:
            actuator, params = self._authorize(call)
            key = f"{activity.info().workflow_id}:{call.step}"
            before = call.record.before if call.record is not None else None
            async with heartbeating():
                return await actuator.apply(self.context(key, before), params)

        result = await self._guarded(work)
        if call.record is not None and self._records is not None:
            applied = replace(call.record, status="applied", result=result)
            await asyncio.to_thread(self._records.step, applied)
        return result

    @activity.defn(name=names.ACTUATOR_UNDO)
    async def undo(self, call: UndoCall) -> dict[str, Any]:
        """Restore a before-state, authorized by the decision of the call it reverses."""

        async def work() -> dict[str, Any]:
            actuator, params = self._authorize(call)
            if actuator.irreversible:
                raise IrreversibleError(f"{actuator.name} is irreversible")
            key = f"{activity.info().workflow_id}:{call.step}:undo"
            async with heartbeating():
                return await actuator.undo(self.context(key), params, call.before)

        return await self._guarded(work)

    @activity.defn(name=names.ACTUATOR_VERIFY)
    async def verify(self, request: VerifyRequest) -> VerifyResult:
        """Poll a check until it passes or its window ends (read-only, needs no decision).

        Every heartbeat carries the progress (:class:`VerifyProgress`): a retry after a lost
        worker continues the same window and count, and answers from the last observation
        without polling when the window ended meanwhile. At least one poll is made over all
        attempts together, so there is always an observation to answer from.
        """
        try:
            check = get_check(request.check)
            params = parse_params(check.params_model, request.params, request.check)
        except (UnknownNameError, InvalidParametersError) as exc:
            raise non_retryable(exc) from exc
        progress = _verify_progress(request)
        if progress.last is not None and (progress.last.ok or progress.remaining() <= 0):
            return progress.result()
        async with heartbeating(details=progress.details):
            while True:
                result = await check.run(self.context(), params)
                seen = Observation(ok=result.ok, observed=result.observed, detail=result.detail)
                progress.note(seen)
                if activity.in_activity():
                    activity.heartbeat(progress.details())
                if result.ok or progress.remaining() < request.interval_seconds:
                    return progress.result()
                await asyncio.sleep(request.interval_seconds)


def _verify_progress(request: VerifyRequest) -> VerifyProgress:
    """Where this attempt of a verification starts: anew, or where the last one left off."""
    if not activity.in_activity():
        return VerifyProgress(deadline=time.time() + request.within_seconds)
    info = activity.info()
    return VerifyProgress.resume(
        info.heartbeat_details,
        within_seconds=request.within_seconds,
        attempt=info.attempt,
        first_scheduled=info.scheduled_time,
    )
