"""How a playbook writes its progress to the app database (local activities).

Records run in the background, one after another in the order they were made, so the
playbook does not wait on the database between its steps; :meth:`_flush_records` waits for
all of them (before the outcome is returned and before an approval vote is acknowledged).
"""

import asyncio
from dataclasses import replace
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

    _record_chain: "asyncio.Task[None] | None" = None

    def _local(self, name: str, arg: Any) -> None:
        previous = self._record_chain

        async def record_after_previous() -> None:
            if previous is not None:
                await previous
            await workflow.execute_local_activity(
                name, arg, start_to_close_timeout=self.local_timeout
            )

        self._record_chain = asyncio.create_task(record_after_previous())

    async def _flush_records(self) -> None:
        """Wait until every record made so far is written."""
        if self._record_chain is not None:
            await self._record_chain

    def _record_incident(self, status: str, outcome: dict[str, Any] | None = None) -> None:
        incident = self._require_incident()
        self._status = status
        self._local(
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

    def _record_step(self, record: StepRecord, **changes: Any) -> None:
        # A copy: the record is written later, and the caller goes on changing its own.
        self._local("steward.record_step", replace(record, **changes))

    def _record_approval(self, approval: PendingApproval, gate: GateResult | None = None) -> None:
        self._local(
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
