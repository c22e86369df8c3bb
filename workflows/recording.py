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
    from activities import names
    from activities.types import ApprovalRecord, GateResult, IncidentRecord, StepRecord
    from workflows.activity_names import activity_name

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
    # The run's opening record, held for the first gate to write (see ``_take_opening``).
    _opening: IncidentRecord | None = None

    def _take_opening(self) -> IncidentRecord | None:
        """Hand the held opening record to the caller (the first gate), which writes it."""
        opening, self._opening = self._opening, None
        return opening

    def _local(self, name: str, arg: Any) -> None:
        opening = self._take_opening()
        if opening is not None:
            # Another record comes first: the opening must still be written before it.
            self._local(activity_name(names.RECORD_INCIDENT), opening)
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
        opening = self._take_opening()
        if opening is not None:
            self._local(activity_name(names.RECORD_INCIDENT), opening)
        if self._record_chain is not None:
            await self._record_chain

    def _record_incident(
        self, status: str, outcome: dict[str, Any] | None = None, *, opening: bool = False
    ) -> None:
        """Record the incident's status; ``opening`` holds the record for the first gate.

        The first gate writes the opening record itself, so the run's first workflow task
        waits on one local activity (the gate) instead of two.
        """
        incident = self._require_incident()
        self._status = status
        record = IncidentRecord(
            id=self._incident_id,
            service=incident.service,
            signal=incident.signal,
            severity=incident.severity,
            playbook=workflow.info().workflow_type,
            mode=incident.mode,
            status=status,
            opened_by=incident.opened_by,
            window_start=incident.window_start,
            summary=incident.summary,
            outcome=outcome,
        )
        if opening:
            self._opening = record
        else:
            self._local(activity_name(names.RECORD_INCIDENT), record)

    def _record_step(self, record: StepRecord, **changes: Any) -> None:
        # A copy: the record is written later, and the caller goes on changing its own.
        self._local(activity_name(names.RECORD_STEP), replace(record, **changes))

    def _record_approval(self, approval: PendingApproval, gate: GateResult | None = None) -> None:
        self._local(
            activity_name(names.RECORD_APPROVAL),
            ApprovalRecord(
                incident_id=self._incident_id,
                step=approval.step,
                actuator=approval.actuator,
                params=gate.params if gate else {},
                tier=gate.tier if gate else "",
                reasons=gate.decision.reasons if gate else [],
                requirement=approval.requirement,
                status=approval.status,
                at=workflow.now().isoformat(),
                votes=approval.votes,
                decided_reason=approval.reason,
                approval_round=approval.approval_round,
                diff=gate.diff if gate else None,
            ),
        )
