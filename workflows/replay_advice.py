"""The ``replay_advice`` workflow: the REST API's replay advisor, as a recorded run."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.deliveries.types import Advice, AdviceLookup
    from workflows.delivery_types import (
        REPLAY_ADVICE_WORKFLOW,
        DeliveryVerdict,
        ReplayAdvice,
        ReplayAdviceRequest,
        ReplayRecommendation,
    )


@workflow.defn(name=REPLAY_ADVICE_WORKFLOW)
class ReplayAdvisor:
    """Recommend a tenant's safely replayable deliveries (transient, confidence > 80)."""

    @workflow.run
    async def run(self, request: ReplayAdviceRequest) -> ReplayAdvice:
        """Read and advise in one local activity."""
        advice = await workflow.execute_local_activity(
            "deliveries.advise",
            AdviceLookup(request.tenant, request.since, request.limit),
            result_type=Advice,
            start_to_close_timeout=timedelta(seconds=60),
            # A broken database fails the answer quickly instead of retrying forever.
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        return ReplayAdvice(
            tenant=advice.tenant,
            since=advice.since,
            recommendations=[
                ReplayRecommendation(DeliveryVerdict(**asdict(r.verdict)), r.first_attempt_at)
                for r in advice.recommendations
            ],
            total=advice.total,
            counts=dict(advice.counts),
            confidence_level=advice.confidence_level,
            confidence_reason=advice.confidence_reason,
        )
