"""The baseline: a bare Temporal workflow with three no-op activities, nothing of Steward's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow


@activity.defn(name="bench.noop")
async def noop(n: int) -> int:
    return n


@workflow.defn(name="bench_bare")
class Bare:
    """The baseline: a bare workflow running three no-op activities."""

    @workflow.run
    async def run(self, _: dict[str, Any]) -> str:
        for n in range(3):
            await workflow.execute_activity(noop, n, start_to_close_timeout=timedelta(seconds=30))
        return "done"
