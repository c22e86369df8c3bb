"""The undo workflow: reverse an incident's applied actions, newest first, each one gated.

Every undo step is an action like any other: the policy gate decides it (the requester is
``undo``), a decision that needs approval waits for one through the same ``decide`` Update,
and the actuator restores the before-snapshot the ledger recorded. The undo run is an incident
of its own (its id is the workflow id), so approvals, records and the ledger work unchanged.
"""

from __future__ import annotations

from dataclasses import asdict

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.types import StepRecord, UndoCall
    from workflows.activity_names import activity_name

from workflows.audit_types import UndoRequest, UndoTarget
from workflows.playbook import Playbook, PlaybookStopped, failure_message
from workflows.types import IncidentInput, PlaybookOutcome

UNDO_WORKFLOW = "undo"


@workflow.defn(name=UNDO_WORKFLOW)
class UndoIncident(Playbook):
    """Reverses the applied actions listed in an :class:`UndoRequest`."""

    def __init__(self) -> None:
        super().__init__()
        self._request: UndoRequest | None = None
        self._outcome = PlaybookOutcome(status="resolved", reason="")

    @workflow.run
    async def run(self, request: UndoRequest) -> PlaybookOutcome:
        """Undo every target, newest first; record and return what was undone."""
        self._request = request
        self._incident = request.incident
        outcome = self._outcome
        outcome.reason = f"undid the applied actions of {request.incident_id}"
        outcome.irreversible = list(request.irreversible)
        self._record_incident("running")
        try:
            await self.remediate(request.incident)
        except PlaybookStopped as stop:
            outcome.status, outcome.reason = stop.status, stop.reason
        if outcome.compensation_failures and outcome.status == "resolved":
            outcome.status = "failed"
            outcome.reason = f"{len(outcome.compensation_failures)} undo step(s) failed"
        self._record_incident(outcome.status, asdict(outcome))
        await self._flush_records()
        return outcome

    async def remediate(self, incident: IncidentInput) -> None:
        """Undo the targets in reverse order of application."""
        request = self._undo_request()
        for target in reversed(request.targets):
            await self._undo(target, incident)

    def _undo_request(self) -> UndoRequest:
        """The run's request; without one (``remediate`` called outside ``run``) a bug."""
        if self._request is None:
            raise ApplicationError(
                "undo has no UndoRequest: remediate() ran before run() set it",
                type="UndoWithoutRequest",
                non_retryable=True,
            )
        return self._request

    async def _undo(self, target: UndoTarget, incident: IncidentInput) -> None:
        request = self._undo_request()
        self._step += 1
        step = self._step
        label = f"step {target.step} {target.actuator}"
        gate = await self._gate(step, target.actuator, target.params, incident)
        decision = gate.decision
        record = StepRecord(
            incident_id=self._incident_id,
            step=step,
            kind="undo",
            name=target.actuator,
            status="gated",
            params=gate.params,
            tier=gate.tier,
            decision=asdict(decision),
            gate_input=gate.gate_input,
        )
        if decision.outcome == "deny":
            self._record_step(record, status="denied", error="; ".join(decision.reasons))
            raise PlaybookStopped(
                "denied", f"undo of {label} denied: {'; '.join(decision.reasons)}"
            )
        if not gate.reversible:
            # The actuator has become irreversible since it was applied: list it, skip it.
            self._outcome.irreversible.append(label)
            self._record_step(record, status="skipped", error="irreversible")
            return
        authorization = gate.authorization
        if decision.outcome == "approval_required":
            authorization = await self._await_approval(record, gate)
        call = UndoCall(
            step=step,
            actuator=target.actuator,
            params=gate.params,
            before=target.before,
            authorization=authorization,
        )
        try:
            result = await workflow.execute_activity(
                activity_name(names.ACTUATOR_UNDO),
                call,
                result_type=dict,
                start_to_close_timeout=self.apply_timeout,
                heartbeat_timeout=self.apply_heartbeat,
                retry_policy=self.apply_retry,
            )
        except ActivityError as err:
            self._outcome.compensation_failures.append(f"{label}: {failure_message(err)}")
            self._record_step(record, status="failed", error=failure_message(err))
            return
        self._outcome.compensated.append(target.step)
        undoes = {"incident": request.incident_id, "step": target.step}
        self._record_step(
            record, status="undone", before=target.before, result={"undoes": undoes, **result}
        )
