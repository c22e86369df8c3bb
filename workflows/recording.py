"""How a playbook writes its progress to the app database (local activities)."""

from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.types import ApprovalRecord, GateResult, IncidentRecord, StepRecord

from workflows.approval_state import PendingApproval
from workflows.types import IncidentInput


class PlaybookRecords:
    """Mixin of :class:`~workflows.playbook.Playbook`: incident, step and approval records."""

    local_timeout = timedelta(seconds=10)
    _incident: IncidentInput | None
    _status: str

    @property
    def _incident_id(self) -> str:
        return workflow.info().workflow_id

    def _require_incident(self) -> IncidentInput:
        if self._incident is None:
            raise RuntimeError("act() and verify() run inside execute()")
        return self._incident

    async def _local(self, name: str, arg: Any) -> None:
        await workflow.execute_local_activity(name, arg, start_to_close_timeout=self.local_timeout)

    async def _record_incident(self, status: str, outcome: dict[str, Any] | None = None) -> None:
        incident = self._require_incident()
        self._status = status
        await self._local(
            "steward.record_incident",
            IncidentRecord(
                self._incident_id,
                incident.service,
                incident.signal,
                incident.severity,
                workflow.info().workflow_type,
                incident.mode,
                status,
                incident.opened_by,
                incident.window_start,
                incident.summary,
                outcome,
            ),
        )

    async def _record_step(self, record: StepRecord, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(record, key, value)
        await self._local("steward.record_step", record)

    async def _record_approval(
        self, approval: PendingApproval, gate: GateResult | None = None
    ) -> None:
        await self._local(
            "steward.record_approval",
            ApprovalRecord(
                self._incident_id,
                approval.step,
                approval.actuator,
                gate.params if gate else {},
                gate.tier if gate else "",
                gate.decision.reasons if gate else [],
                approval.requirement,
                approval.status,
                workflow.now().isoformat(),
                approval.votes,
                approval.reason,
            ),
        )
