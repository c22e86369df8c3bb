"""The ``replay_advice`` workflow: the REST API's replay advisor, as a recorded run."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.deliveries.types import AdviceLookup
    from workflows.activity_names import activity_name
    from workflows.delivery_types import REPLAY_ADVICE_WORKFLOW, ReplayAdvice, ReplayAdviceRequest


@workflow.defn(name=REPLAY_ADVICE_WORKFLOW)
class ReplayAdvisor:
    """Recommend a tenant's safely replayable deliveries (transient, confidence > 80)."""

    @workflow.run
    async def run(self, request: ReplayAdviceRequest) -> ReplayAdvice:
        """Read and advise in one local activity."""
        return await workflow.execute_local_activity(
            activity_name(names.DELIVERY_ADVISE),
            AdviceLookup(tenant=request.tenant, since=request.since, limit=request.limit),
            result_type=ReplayAdvice,
            start_to_close_timeout=timedelta(seconds=60),
            # A broken database fails the answer quickly instead of retrying forever.
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
