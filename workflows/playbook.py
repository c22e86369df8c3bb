"""The ``Playbook`` base: policy-gated actions, approvals, verification and compensation.

A playbook is an ordinary Temporal workflow::

    @workflow.defn(name="high_latency")
    class HighLatency(Playbook):
        @workflow.run
        async def run(self, incident: IncidentInput) -> PlaybookOutcome:
            return await self.execute(incident)

        async def remediate(self, incident: IncidentInput) -> None:
            await self.act("demo.scale", {"service": incident.service, "replicas": 8})
            await self.verify("demo.p95_below", {"service": incident.service, "threshold_ms": 200})

A playbook declares its parameters as ``params_model`` (a model from
``workflows.playbook_params``) and reads them, checked and typed, with :meth:`params_as`.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from dataclasses import asdict, replace
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities import names
    from activities.types import (
        ActuatorCall,
        StepRecord,
        VerifyRequest,
        VerifyResult,
    )
    from workflows.activity_names import activity_name
    from workflows.playbook_params import NoParams, PlaybookParams, describe_errors, param_errors

from workflows.approval_state import PendingApproval
from workflows.compensation import NON_RETRYABLE, Compensation
from workflows.gating import PolicyGating
from workflows.playbook_types import (
    AppliedAction,
    PlaybookStopped,
    RemediationFailed,
    failure_message,
)
from workflows.run_guard import InFlightApply, RunGuard
from workflows.types import ApprovalDecision, Evidence, IncidentInput, PlaybookOutcome

__all__ = [
    "NON_RETRYABLE",
    "AppliedAction",
    "Playbook",
    "PlaybookStopped",
    "RemediationFailed",
    "failure_message",
]

ParamsT = TypeVar("ParamsT", bound="PlaybookParams")


class Playbook(Compensation, PolicyGating, RunGuard):
    """Base class of every playbook workflow. Subclasses implement :meth:`remediate`.

    Subclasses may set ``params_model`` (their parameter schema, checked when the incident
    opens and when the run starts) and ``deadline_seconds`` (overrides the opener's
    ``STEWARD_INCIDENT_DEADLINE_SECONDS``).
    """

    params_model: type[PlaybookParams] = NoParams

    snapshot_timeout = timedelta(seconds=30)
    # The same as an apply's heartbeat: a verification's retry resumes from the last one.
    verify_heartbeat = timedelta(seconds=5)

    def __init__(self) -> None:
        self._incident: IncidentInput | None = None
        self._step = 0
        self._applied: list[AppliedAction] = []
        self._approvals: dict[int, PendingApproval] = {}
        self._plan: list[dict[str, Any]] = []
        self._status = "open"
        self._evidence: list[Evidence] = []
        self._params: PlaybookParams | None = None

    @abstractmethod
    async def remediate(self, incident: IncidentInput) -> None:
        """The playbook's steps: calls to :meth:`act` and :meth:`verify`."""

    # ---- operator interface -------------------------------------------------------------
    @workflow.update(name="decide")
    async def decide(self, d: ApprovalDecision) -> str:
        """Count one operator's approve or reject for a pending step."""
        approval = self._approvals[d.step]
        status = approval.count(d)
        self._record_approval(approval)
        # Acknowledge the vote only once it is in the database the API reads.
        await self._flush_records()
        return status

    @decide.validator
    def validate_decide(self, d: ApprovalDecision) -> None:
        """Refuse votes from ineligible principals before they reach history."""
        approval = self._approvals.get(d.step)
        if approval is None:
            raise ApplicationError(f"no approval is pending for step {d.step}", type="NotPending")
        refusal = approval.refusal(d)
        if refusal is not None:
            raise refusal

    @workflow.signal(name="attach_evidence")
    def attach_evidence(self, evidence: Evidence) -> None:
        """Attach new evidence to the running incident instead of opening another one."""
        if all(e.dedup_key != evidence.dedup_key for e in self._evidence):
            self._evidence.append(evidence)

    @workflow.query(name="state")
    def state(self) -> dict[str, Any]:
        """Live view: status, current step, pending approvals and applied actions."""
        return {
            "status": self._status,
            "step": self._step,
            "pending_approvals": [
                a.step for a in self._approvals.values() if a.status == "pending"
            ],
            "applied": [{"step": a.step, "actuator": a.actuator} for a in self._applied],
            "evidence": [asdict(e) for e in self._evidence],
        }

    # ---- the run --------------------------------------------------------------------------
    async def execute(self, incident: IncidentInput) -> PlaybookOutcome:
        """Check the params, run :meth:`remediate` within the deadline, record the outcome.

        A failure after an apply compensates: a failed verification or actuator, an
        unexpected exception in playbook code, the deadline passing (see ``RunGuard``).
        """
        self._incident = incident
        for evidence in incident.evidence:
            self.attach_evidence(evidence)
        self._record_incident("running", opening=True)
        try:
            # Checked again here: a run started directly through Temporal skipped the opener.
            self._params = self.params_model.model_validate(incident.params)
        except ValidationError as exc:
            reason = f"invalid parameters: {describe_errors(param_errors(exc))}"
            outcome = PlaybookOutcome(status="failed", reason=reason)
        else:
            outcome = await self._run_guarded(incident)
        outcome.applied = [{"step": a.step, "actuator": a.actuator} for a in self._applied]
        outcome.plan = self._plan
        self._record_incident(outcome.status, asdict(outcome))
        await self._flush_records()
        return outcome

    def params_as(self, model: type[ParamsT]) -> ParamsT:
        """The incident's params, checked against ``params_model`` (which must be ``model``)."""
        if not isinstance(self._params, model):
            raise TypeError(f"{type(self).__name__}.params_model is not {model.__name__}")
        return self._params

    async def act(self, actuator: str, params: dict[str, Any]) -> dict[str, Any]:
        """Gate, (await approval,) snapshot, apply and record one actuator call.

        Returns:
            The actuator's result, or the plan in simulate mode.

        Raises:
            PlaybookStopped: the policy denied the call or the approval was refused.
            RemediationFailed: the actuator failed after its retries.
        """
        incident = self._require_incident()
        self._step += 1
        step = self._step
        gate = await self._gate(step, actuator, params, incident)
        decision, params = gate.decision, gate.params
        record = StepRecord(
            incident_id=self._incident_id,
            step=step,
            kind="act",
            name=actuator,
            status="gated",
            params=params,
            tier=gate.tier,
            decision=asdict(decision),
        )
        record.gate_input = gate.gate_input  # the ledger keeps what the policy saw
        if decision.outcome == "deny":
            self._record_step(record, status="denied", error="; ".join(decision.reasons))
            raise PlaybookStopped("denied", f"{actuator} denied: {'; '.join(decision.reasons)}")
        if incident.mode == "simulate":
            planned = {
                "step": step,
                "actuator": actuator,
                "params": params,
                "decision": decision.outcome,
            }
            if gate.diff is not None:
                planned["diff"] = gate.diff
            self._plan.append(planned)
            self._record_step(record, status="planned", result=planned)
            return planned
        authorization = gate.authorization
        self._current_record = record
        if decision.outcome == "approval_required":
            authorization = await self._await_approval(record, gate)
        call = ActuatorCall(
            step=step, actuator=actuator, params=params, authorization=authorization
        )
        # The apply activity writes the applied record itself; the records made before it
        # (an approval's) must be written first, or they would land after it.
        await self._flush_records()
        try:
            # The before-state is a quick read: a local activity keeps it off the server's
            # task queue while still landing in history. Nothing to keep, no step at all.
            before: dict[str, Any] = {}
            if gate.has_snapshot:
                before = await workflow.execute_local_activity(
                    activity_name(names.ACTUATOR_SNAPSHOT),
                    call,
                    result_type=dict,
                    start_to_close_timeout=self.snapshot_timeout,
                    retry_policy=self.apply_retry,
                )
            applying = workflow.start_activity(
                activity_name(names.ACTUATOR_APPLY),
                replace(call, record=replace(record, before=before)),
                result_type=dict,
                start_to_close_timeout=self.apply_timeout,
                heartbeat_timeout=self.apply_heartbeat,
                retry_policy=self.apply_retry,
            )
            applied = AppliedAction(
                step=step,
                actuator=actuator,
                params=params,
                before=before,
                reversible=gate.reversible,
                authorization=authorization,
            )
            self._in_flight = InFlightApply(applying, applied)
            # Shielded: a deadline cancels the run but lets the apply finish, so its
            # compensation knows whether it happened.
            result = await asyncio.shield(applying)
        except (ActivityError, ApplicationError) as err:
            message = f"{actuator} failed: {failure_message(err)}"
            self._record_step(record, status="failed", error=message)
            raise RemediationFailed(message) from err
        finally:
            self._in_flight = None
        self._applied.append(applied)
        return result

    async def verify(
        self, check: str, params: dict[str, Any], within_seconds: float = 30.0
    ) -> VerifyResult:
        """Poll a check until it passes; a failure compensates every applied action."""
        self._step += 1
        record = StepRecord(
            incident_id=self._incident_id,
            step=self._step,
            kind="verify",
            name=check,
            status="running",
            params=params,
        )
        if self._require_incident().mode == "simulate":
            self._record_step(record, status="skipped", result={"detail": "simulate mode"})
            return VerifyResult(ok=True, observed={}, detail="skipped in simulate mode", attempts=0)
        request = VerifyRequest(check=check, params=params, within_seconds=within_seconds)
        result = await workflow.execute_activity(
            activity_name(names.ACTUATOR_VERIFY),
            request,
            result_type=VerifyResult,
            start_to_close_timeout=timedelta(seconds=within_seconds + 30),
            heartbeat_timeout=self.verify_heartbeat,
            retry_policy=RetryPolicy(maximum_attempts=3, non_retryable_error_types=NON_RETRYABLE),
        )
        status = "passed" if result.ok else "failed"
        self._record_step(record, status=status, result=asdict(result))
        if not result.ok:
            raise RemediationFailed(f"verification {check} failed: {result.detail}")
        return result
