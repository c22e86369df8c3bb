"""The guard around every playbook run: checked parameters, a deadline, and no unhandled failure.

:class:`~workflows.playbook.Playbook` inherits it. ``Playbook.execute`` checks the incident's
params against the playbook's ``params_model`` before anything runs (a run started directly
through Temporal gets the same check as one opened through the API), then runs ``remediate``
under :meth:`RunGuard._run_guarded`:

- an unexpected exception in playbook code (a bug) compensates what was applied, in reverse
  order, and ends the run ``failed`` with the error;
- past the incident's deadline the remediation is cancelled (an apply in flight is let finish
  first, so what it did is known and compensated), pending approvals time out, what was
  applied is compensated, the run ends ``failed`` and an alert goes to operators;
- a cancelled workflow does the same, without the alert.

Exceptions that escape the run anyway (a bug in a signal handler, say) fail the workflow
instead of retrying its task forever: the worker lists :data:`PLAYBOOK_BUG_TYPES` as its
workflow failure exception types. They do not include ``NondeterminismError``: a history that
no longer matches the code (a bad deploy) waits for fixed code instead of failing every run.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.incidents.types import IncidentAlert
    from activities.types import StepRecord
    from workflows.activity_names import activity_name

from workflows.approval_state import PendingApproval
from workflows.playbook_types import AppliedAction, PlaybookStopped, RemediationFailed
from workflows.recording import PlaybookRecords
from workflows.types import IncidentInput, PlaybookOutcome

# A run with no deadline of its own (nor one from the opener) ends after this long.
DEFAULT_DEADLINE_SECONDS = 6 * 3600.0
DEADLINE_ALERT = "deadline_passed"
# Runs recorded before deadlines existed have no deadline timer in their history.
DEADLINE_PATCH = "incident-deadline"
# Programming errors: raised out of a workflow, they fail the run instead of its task.
PLAYBOOK_BUG_TYPES: tuple[type[BaseException], ...] = (
    ArithmeticError,
    AssertionError,
    AttributeError,
    LookupError,
    NameError,
    RuntimeError,
    TypeError,
    ValueError,
)


class InFlightApply:
    """An apply whose activity has started: the deadline waits for it before compensating."""

    def __init__(self, result: asyncio.Future[Any], applied: AppliedAction) -> None:
        self.result = result
        self.applied = applied  # remembered once the apply succeeded


class RunGuard(PlaybookRecords):
    """Deadline and crash handling of a playbook run (a mixin of ``Playbook``)."""

    # Seconds a run of this playbook may take; None takes the opener's setting.
    deadline_seconds: float | None = None
    _applied: list[AppliedAction]
    _step: int
    _approvals: dict[int, PendingApproval]
    # Set by act(): the step being gated/approved, and the apply in flight, if any.
    _current_record: StepRecord | None = None
    _in_flight: InFlightApply | None = None
    _stopping = False
    _compensating = False

    @abstractmethod
    async def remediate(self, incident: IncidentInput) -> None:
        """The playbook's steps."""

    @abstractmethod
    async def _compensate(self, reason: str) -> PlaybookOutcome:
        """Undo the applied actions, newest first."""

    def _deadline_of(self, incident: IncidentInput) -> float:
        return incident.deadline_seconds or self.deadline_seconds or DEFAULT_DEADLINE_SECONDS

    async def _run_guarded(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run ``remediate`` to an outcome within the incident's deadline."""
        deadline = self._deadline_of(incident)
        run = asyncio.create_task(self._remediate_to_outcome(incident))
        # Without the patch marker (a history from before deadlines) no timer may be started,
        # or the old history would no longer replay.
        timeout = timedelta(seconds=deadline) if workflow.patched(DEADLINE_PATCH) else None
        try:
            await workflow.wait_condition(run.done, timeout=timeout)
        except TimeoutError:
            return await self._deadline_passed(run, deadline)
        except asyncio.CancelledError:
            # Someone cancelled the workflow: stop, and leave nothing half-applied.
            outcome = await self._stop(run, f"the run was cancelled at step {self._step}")
            return outcome
        return run.result()

    async def _remediate_to_outcome(self, incident: IncidentInput) -> PlaybookOutcome:
        try:
            await self.remediate(incident)
            return PlaybookOutcome(status="resolved", reason="remediation verified")
        except PlaybookStopped as stop:
            return PlaybookOutcome(status=stop.status, reason=stop.reason)
        except RemediationFailed as failure:
            self._compensating = True
            return await self._compensate(str(failure))
        except Exception as err:
            if self._stopping:
                raise  # the cancellation's own fallout: ``_stop`` compensates
            # A bug in playbook code: undo what it applied, and say what broke.
            error = f"playbook error at step {self._step}: {type(err).__name__}: {err}"
            workflow.logger.exception("playbook %s failed", workflow.info().workflow_type)
            self._compensating = True
            outcome = await self._compensate(error)
            outcome.status, outcome.reason = "failed", _with_compensation(error, outcome)
            return outcome

    async def _stop(self, run: asyncio.Task[PlaybookOutcome], error: str) -> PlaybookOutcome:
        """Cancel the run, let an apply in flight finish, compensate, and fail."""
        if self._compensating:
            # Compensation already runs: let it finish instead of undoing anything twice.
            outcome = await run
            outcome.reason = f"{error} while compensating: {outcome.reason}"
            outcome.status = "failed"
            return outcome
        self._stopping = True
        in_flight = self._in_flight
        run.cancel()
        # Its cancellation (or the error it ended with) is moot now: the caller decides.
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await run
        if in_flight is not None and in_flight.applied not in self._applied:
            # The apply was let finish: compensate it if it happened, not if it failed.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await in_flight.result
                self._applied.append(in_flight.applied)
        self._close_waiting_step(error)
        outcome = await self._compensate(error)
        outcome.status, outcome.reason = "failed", _with_compensation(error, outcome)
        return outcome

    async def _deadline_passed(
        self, run: asyncio.Task[PlaybookOutcome], deadline: float
    ) -> PlaybookOutcome:
        """Stop the run past its deadline, compensate, fail and alert operators."""
        error = f"the incident's deadline of {deadline:g} s passed at step {self._step}"
        outcome = await self._stop(run, error)
        alert = IncidentAlert(
            incident_id=self._incident_id,
            kind=DEADLINE_ALERT,
            message=outcome.reason,
            details={
                "deadline_seconds": deadline,
                "step": self._step,
                "applied": [a.step for a in self._applied],
                "compensated": outcome.compensated,
                "irreversible": outcome.irreversible,
                "compensation_failures": outcome.compensation_failures,
            },
        )
        outcome.alerts.append(f"{DEADLINE_ALERT}: {outcome.reason}")
        self._local(activity_name(names.INCIDENT_ALERT), alert)
        return outcome

    def _close_waiting_step(self, error: str) -> None:
        """Time out pending approvals and mark the step that was waiting as failed."""
        for approval in self._approvals.values():
            if approval.status == "pending":
                approval.status, approval.reason = "timeout", error
                self._record_approval(approval)
        record = self._current_record
        if record is not None and not any(a.step == record.step for a in self._applied):
            self._record_step(record, status="failed", error=error)


def _with_compensation(error: str, outcome: PlaybookOutcome) -> str:
    """The error, and what compensation did about it."""
    done = [f"compensated step(s) {', '.join(map(str, outcome.compensated))}"]
    if not outcome.compensated:
        done = ["nothing to compensate"] if not outcome.irreversible else []
    if outcome.irreversible:
        done.append(f"irreversible: {', '.join(outcome.irreversible)}")
    if outcome.compensation_failures:
        done.append(f"compensation failed: {'; '.join(outcome.compensation_failures)}")
    return f"{error}; {'; '.join(done)}"
