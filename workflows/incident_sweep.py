"""The ``incident_sweep`` workflow: one sweep of stale incident rows, as a recorded run.

The Schedule ``steward-incident-sweep`` (created by every worker on start) runs it with
``repair`` every ``STEWARD_INCIDENT_SWEEP_SECONDS``; the admin route and ``steward incidents
sweep`` run it on demand. Why a Schedule and not a loop in a process: Temporal runs it once
per interval however many API and worker processes there are, skips a sweep while the last
one still runs, and keeps each sweep's findings in its history.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.incidents.types import SweepReport, SweepRequest
    from workflows.activity_names import activity_name

SWEEP_WORKFLOW = "incident_sweep"
SWEEP_SCHEDULE_ID = "steward-incident-sweep"


@workflow.defn(name=SWEEP_WORKFLOW)
class IncidentSweep:
    """Sweep once."""

    @workflow.run
    async def run(self, request: SweepRequest) -> SweepReport:
        """Ask Temporal about every open row; report, or repair, those whose run ended."""
        return await workflow.execute_activity(
            activity_name(names.INCIDENT_SWEEP),
            request,
            result_type=SweepReport,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
