"""The ``delivery_watch`` workflow: one scheduled run of a ``deliveries`` monitor.

It runs the burst, endpoint-spike and tenant-spike rules over the stored delivery failures and
opens (or attaches to) the monitor's incident once per finding, with the finding as evidence.
Every finding of a run shares the monitor's service and signal, so they land on one incident
per fingerprint window; its playbook (``webhook_failures``) replays the affected tenants' safe
deliveries.

Monitor settings it reads: ``source.tenant`` (only that tenant), ``detector.rules`` (per-rule
overrides, e.g. ``{"burst": {"ratio_threshold": 2}}``), ``detector.max_tenants`` (default 5)
and ``detector.params`` (extra playbook parameters, e.g. ``max_deliveries``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.deliveries.types import DetectRequest, DetectResult, WatchFinding
    from activities.incidents.types import OpenRequest, OpenResult
    from workflows.activity_names import activity_name
    from workflows.delivery_types import DELIVERY_WATCH_WORKFLOW, DeliveryWatchResult
    from workflows.monitor_types import MonitorRun
    from workflows.types import Evidence

DEFAULT_MAX_TENANTS = 5


def affected_tenants(findings: list[WatchFinding], most: int) -> list[str]:
    """Tenants the findings cover, in the order the strongest findings name them."""
    ordered = dict.fromkeys(t for f in findings for t in f.tenants)
    return list(ordered)[:most]


def finding_evidence(run: MonitorRun, finding: WatchFinding, now: str) -> Evidence:
    """The evidence one finding attaches: the rule, what it covered, and why it fired."""
    return Evidence(
        source=f"monitor:{run.name}",
        # One piece per rule, key and run: a retried run attaches nothing twice.
        dedup_key=f"{finding.kind}:{finding.key}:{now}",
        observed_at=now,
        score=finding.score,
        explanation={
            "kind": finding.kind,
            "key": finding.key,
            "tenants": finding.tenants,
            **finding.explanation,
        },
    )


@workflow.defn(name=DELIVERY_WATCH_WORKFLOW)
class DeliveryWatch:
    """Find delivery-failure bursts and spikes; open or feed the monitor's incident."""

    @workflow.run
    async def run(self, run: MonitorRun) -> DeliveryWatchResult:
        """Detect at the run's start time, then open or attach once per finding."""
        now = workflow.now()
        detector: dict[str, Any] = run.detector or {}
        detected = await workflow.execute_local_activity(
            activity_name(names.DELIVERY_DETECT),
            DetectRequest(
                now=now.isoformat(),
                tenant=(run.source or {}).get("tenant"),
                rules=detector.get("rules", {}),
            ),
            result_type=DetectResult,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        result = DeliveryWatchResult(
            findings=list(detected.findings),
            not_enough_data=list(detected.not_enough_data),
        )
        if not detected.findings:
            return result
        most = int(detector.get("max_tenants", DEFAULT_MAX_TENANTS))
        params = {
            **detector.get("params", {}),
            "tenants": affected_tenants(detected.findings, most),
            # Replay what failed within the monitor's window.
            "since": (now - timedelta(seconds=run.window_seconds)).isoformat(),
        }
        for finding in detected.findings:
            opened = await workflow.execute_activity(
                activity_name(names.INCIDENT_OPEN_OR_ATTACH),
                OpenRequest(
                    service=run.service,
                    signal=run.signal,
                    severity=run.severity,
                    playbook=run.playbook,
                    opened_by=f"monitor:{run.name}",
                    evidence=finding_evidence(run, finding, now.isoformat()),
                    params=params,
                    summary=f"webhook delivery {finding.kind.replace('_', ' ')} on {finding.key}",
                ),
                result_type=OpenResult,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(
                    maximum_attempts=5, non_retryable_error_types=["BadIncident"]
                ),
            )
            if opened.incident_id not in result.incidents:
                result.incidents.append(opened.incident_id)
            result.opened = result.opened or opened.created
        return result
