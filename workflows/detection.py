"""The detection workflow: one scheduled run of a ``detect`` monitor.

fetch and score the window (one activity) -> when the reported point is anomalous, open the
monitor's incident or attach the evidence to the one already open. ``not_enough_data`` and
``missing`` never open anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.detection.types import ScoreWindowRequest, WindowVerdict
    from activities.incidents.types import OpenRequest, OpenResult
    from workflows.activity_names import activity_name
    from workflows.monitor_types import MonitorRun
    from workflows.types import Evidence

# A failing source is retried a little, then the run ends: the next scheduled run tries again,
# and a run stuck in retries would make the Schedule skip the runs behind it.
_SCORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=5), maximum_attempts=3
)
_OPEN_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=5),
    maximum_attempts=10,
)


@dataclass(kw_only=True)
class DetectionResult:
    """How one run ended.

    Attributes:
        monitor: The monitor's name.
        state: ``ok``, ``not_enough_data`` or ``missing`` (see ``WindowVerdict``).
        score: Score of the reported point.
        anomalous: Whether the point was past the detector's threshold.
        observed_at: Time of the reported point, ISO 8601.
        incident_id: The incident the evidence opened or was attached to, if anomalous.
        opened: Whether this run opened the incident (``False`` when it attached to one).
        explanation: The detector's explanation.
    """

    monitor: str
    state: str
    score: float
    anomalous: bool
    observed_at: str | None = None
    incident_id: str | None = None
    opened: bool = False
    explanation: dict[str, Any] = field(default_factory=dict)


def _summary(name: str, verdict: WindowVerdict) -> str:
    explanation = verdict.explanation
    driver = explanation.get("driver") or "value"
    return (
        f"monitor {name}: {driver} = {explanation.get('value')!r} scored {verdict.score:.2f} "
        f"(baseline {explanation.get('baseline')!r}, threshold {explanation.get('threshold')!r})"
    )


@workflow.defn(name="detection")
class Detection:
    """Scores a monitor's window and opens or updates its incident when it is anomalous."""

    @workflow.run
    async def run(self, monitor: MonitorRun) -> DetectionResult:
        """Run the monitor once."""
        verdict = await workflow.execute_activity(
            activity_name(names.DETECTION_SCORE_WINDOW),
            ScoreWindowRequest(
                monitor=monitor.name,
                source=monitor.source,
                detector=monitor.detector,
                window_seconds=monitor.window_seconds,
                interval_seconds=monitor.interval_seconds,
                run_started_at=workflow.info().workflow_start_time.timestamp(),
            ),
            result_type=WindowVerdict,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=_SCORE_RETRY,
        )
        result = DetectionResult(
            monitor=monitor.name,
            state=verdict.state,
            score=verdict.score,
            anomalous=verdict.anomalous,
            observed_at=verdict.observed_at,
            explanation=verdict.explanation,
        )
        if not verdict.anomalous or verdict.observed_at is None:
            return result
        source = f"monitor:{monitor.name}"
        evidence = Evidence(
            source=source,
            # The same point seen by a retried or a duplicate run attaches once.
            dedup_key=f"{source}:{verdict.point_id}",
            observed_at=verdict.observed_at,
            score=verdict.score,
            explanation={**verdict.explanation, "monitor": monitor.name},
        )
        opened = await workflow.execute_activity(
            activity_name(names.INCIDENT_OPEN_OR_ATTACH),
            OpenRequest(
                service=monitor.service,
                signal=monitor.signal,
                severity=monitor.severity,
                playbook=monitor.playbook,
                opened_by=source,
                evidence=evidence,
                summary=_summary(monitor.name, verdict),
            ),
            result_type=OpenResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_OPEN_RETRY,
        )
        result.incident_id = opened.incident_id
        result.opened = opened.created
        return result
