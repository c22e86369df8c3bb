"""A workflow that schedules activities by their legacy names, as runs from before the scheme do.

Such runs (and the tasks they queued) keep running on an upgraded worker: it registers every
activity under its legacy name too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.deliveries.types import TriageLookup, TriageReport
    from activities.incidents.types import SweepReport, SweepRequest

LEGACY_NAMES_WORKFLOW = "test_legacy_activity_names"


@dataclass(kw_only=True)
class LegacyResults:
    """What the legacy-named activities returned, decoded to their declared types."""

    triage: TriageReport
    sweep: SweepReport


@workflow.defn(name=LEGACY_NAMES_WORKFLOW)
class LegacyActivityNames:
    """A sync local activity and an async activity, each by its legacy name."""

    @workflow.run
    async def run(self) -> LegacyResults:
        triage = await workflow.execute_local_activity(
            names.LEGACY_NAMES[names.DELIVERY_TRIAGE],
            TriageLookup(delivery_ids=[]),
            result_type=TriageReport,
            start_to_close_timeout=timedelta(seconds=30),
        )
        sweep = await workflow.execute_activity(
            names.LEGACY_NAMES[names.INCIDENT_SWEEP],
            SweepRequest(repair=False),
            result_type=SweepReport,
            start_to_close_timeout=timedelta(seconds=30),
        )
        return LegacyResults(triage=triage, sweep=sweep)
