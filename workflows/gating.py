"""The policy gate of each action, and the approval rounds it may ask for (a mixin of ``Playbook``).

A gate decision is a local activity; an approval waits for votes, then the gate decides again
with the facts of then before the call is signed (``workflows.approval_rounds``).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.types import Authorization, GateRequest, GateResult, IncidentRef, StepRecord
    from workflows.activity_names import activity_name

from workflows.approval_rounds import ApprovalRounds
from workflows.compensation import NON_RETRYABLE
from workflows.playbook_types import PlaybookStopped, failure_message
from workflows.types import IncidentInput


class PolicyGating(ApprovalRounds):
    """Asks the policy gate about each action, and waits for and re-decides approvals."""

    async def _gate(
        self, step: int, actuator: str, params: dict[str, Any], incident: IncidentInput
    ) -> GateResult:
        ref = IncidentRef(
            id=self._incident_id,
            service=incident.service,
            signal=incident.signal,
            severity=incident.severity,
            opened_by=incident.opened_by,
        )
        request = GateRequest(
            workflow_id=self._incident_id,
            step=step,
            actuator=actuator,
            params=params,
            incident=ref,
            requester=workflow.info().workflow_type,
            mode=incident.mode,
            time=workflow.now().isoformat(),
            what_if_bundle=incident.what_if_bundle if incident.mode == "simulate" else None,
            incident_record=self._take_opening(),
        )
        try:
            return await workflow.execute_local_activity(
                activity_name(names.POLICY_GATE),
                request,
                result_type=GateResult,
                start_to_close_timeout=self.local_timeout,
                retry_policy=RetryPolicy(
                    maximum_attempts=3, non_retryable_error_types=NON_RETRYABLE
                ),
            )
        except (ActivityError, ApplicationError) as err:
            # An unknown actuator or bad parameters: a playbook bug, stop without acting.
            # (A local activity's failure arrives as the ApplicationError itself.)
            reason = failure_message(err)
            self._record_step(
                StepRecord(
                    incident_id=self._incident_id,
                    step=step,
                    kind="act",
                    name=actuator,
                    status="failed",
                    params=params,
                ),
                status="failed",
                error=reason,
            )
            raise PlaybookStopped("failed", f"{actuator}: {reason}") from err

    async def _await_approval(self, record: StepRecord, gate: GateResult) -> Authorization:
        """Wait for the approval, then re-decide with fresh facts before the call is signed.

        Raises:
            PlaybookStopped: the approval was refused or timed out, or the re-decision denied.
        """

        async def regate() -> GateResult:
            incident = self._require_incident()
            return await self._gate(record.step, record.name, record.params, incident)

        dispatch = await self._approve_and_redecide(record, gate, regate)
        if dispatch.authorization is None:
            raise PlaybookStopped(dispatch.status, dispatch.reason)
        return dispatch.authorization
