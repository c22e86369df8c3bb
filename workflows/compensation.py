"""Compensation of a playbook run: undo what it applied, newest first (a mixin of ``Playbook``).

Also the settings every apply and undo shares, so that an undo is given exactly the time and
retries its apply had.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.types import StepRecord, UndoCall
    from workflows.activity_names import activity_name

from workflows.playbook_types import AppliedAction, failure_message
from workflows.recording import PlaybookRecords
from workflows.types import PlaybookOutcome

# Errors an actuator raises that retrying cannot fix.
NON_RETRYABLE = ["Unauthorized", "InvalidParameters", "UnknownName", "IrreversibleError"]


class Compensation(PlaybookRecords):
    """Applies' and undos' timeouts and retries, and the undo of every applied action."""

    apply_timeout = timedelta(seconds=30)
    # A killed worker is noticed after this long without a heartbeat, then the apply retries.
    apply_heartbeat = timedelta(seconds=5)
    apply_retry = RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        maximum_attempts=5,
        non_retryable_error_types=NON_RETRYABLE,
    )
    _applied: list[AppliedAction]

    async def _compensate(self, reason: str) -> PlaybookOutcome:
        outcome = PlaybookOutcome(status="rolled_back", reason=reason)
        for applied in reversed(self._applied):
            if not applied.reversible:
                outcome.irreversible.append(f"step {applied.step} {applied.actuator}")
                continue
            record = StepRecord(
                incident_id=self._incident_id,
                step=applied.step,
                kind="undo",
                name=applied.actuator,
                status="running",
                params=applied.params,
            )
            try:
                result = await workflow.execute_activity(
                    activity_name(names.ACTUATOR_UNDO),
                    UndoCall(
                        step=applied.step,
                        actuator=applied.actuator,
                        params=applied.params,
                        before=applied.before,
                        authorization=applied.authorization,
                    ),
                    result_type=dict,
                    start_to_close_timeout=self.apply_timeout,
                    heartbeat_timeout=self.apply_heartbeat,
                    retry_policy=self.apply_retry,
                )
            except ActivityError as err:
                outcome.compensation_failures.append(
                    f"step {applied.step} {applied.actuator}: {failure_message(err)}"
                )
                self._record_step(record, status="failed", error=failure_message(err))
                continue
            outcome.compensated.append(applied.step)
            self._record_step(record, status="undone", before=applied.before, result=result)
        if outcome.compensation_failures:
            outcome.status = "failed"
        return outcome
