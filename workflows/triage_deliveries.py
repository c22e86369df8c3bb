"""The ``triage_deliveries`` workflow: the REST API's delivery triage, as a recorded run.

The API may not import ``activities``; it executes this workflow and gets the verdicts back,
so every triage answer the API gave is also in the workflow history.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.deliveries.types import TriageLookup
    from workflows.activity_names import activity_name
    from workflows.delivery_types import TRIAGE_WORKFLOW, TriageReport, TriageRequest


@workflow.defn(name=TRIAGE_WORKFLOW)
class TriageDeliveries:
    """Triage the latest attempt of each named delivery."""

    @workflow.run
    async def run(self, request: TriageRequest) -> TriageReport:
        """Read and triage in one local activity (a short read: no task-queue round trip)."""
        return await workflow.execute_local_activity(
            activity_name(names.DELIVERY_TRIAGE),
            TriageLookup(delivery_ids=request.delivery_ids),
            result_type=TriageReport,
            start_to_close_timeout=timedelta(seconds=30),
            # A broken database fails the answer quickly instead of retrying forever.
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
