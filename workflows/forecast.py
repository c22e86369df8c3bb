"""The forecast workflow: one scheduled run of a ``forecast`` monitor.

predict (fetch + forecast, one activity) -> on a predicted breach inside the horizon, open a
proactive incident in simulate mode (actuators plan, nothing applies; the plan is recorded)
-> wait for its plan -> when the policy allowed or asked approval for every planned step, open
the same incident in apply mode, whose gate decides each action again (allow, approval or
deny). A plan with a denied step, or an empty one, is not applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.incidents.types import OpenRequest, OpenResult
    from activities.prediction.types import PredictRequest, PredictResult
    from workflows.activity_names import activity_name
    from workflows.monitor_types import MonitorRun
    from workflows.types import Evidence

_PREDICT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=5), maximum_attempts=3
)
_OPEN_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=10)


@dataclass(kw_only=True)
class ForecastResult:
    """How one forecast run ended.

    Attributes:
        monitor: The monitor's name.
        state: ``ok`` or ``not_enough_data``.
        breach: Whether a breach was predicted inside the horizon.
        model: ``prophet``, ``linear`` or ``none``.
        breach_at: When the breach is predicted, ISO 8601.
        simulated_incident: The simulate-mode incident that recorded the plan.
        plan: The recorded plan (actuator, parameters, the policy's decision per step).
        applied_incident: The apply-mode incident, when the plan was handed to it.
        reason: Why it was or was not applied.
        explanation: The forecast's explanation.
    """

    monitor: str
    state: str
    breach: bool
    model: str
    breach_at: str | None = None
    simulated_incident: str | None = None
    plan: list[dict[str, Any]] = field(default_factory=list)
    applied_incident: str | None = None
    reason: str = ""
    explanation: dict[str, Any] = field(default_factory=dict)


def plan_verdict(plan: list[dict[str, Any]], status: str) -> str | None:
    """Return why a simulated plan must not be applied, or ``None`` when it may."""
    if status != "resolved":
        return f"the simulated run ended {status}"
    if not plan:
        return "the playbook planned no action"
    denied = [p["actuator"] for p in plan if p.get("decision") == "deny"]
    if denied:
        return f"the policy denies {', '.join(denied)}"
    return None


@workflow.defn(name="forecast")
class Forecast:
    """Predicts a breach and remediates ahead of it, simulate first."""

    async def _open(self, monitor: MonitorRun, prediction: PredictResult, mode: str) -> OpenResult:
        evidence = Evidence(
            source=f"monitor:{monitor.name}",
            dedup_key=f"forecast:{monitor.name}:{prediction.breach_at}",
            observed_at=workflow.now().isoformat(),
            score=1.0,
            explanation=prediction.explanation,
        )
        request = OpenRequest(
            service=monitor.service,
            signal=monitor.signal,
            severity=monitor.severity,
            playbook=monitor.playbook,
            opened_by=f"monitor:{monitor.name}",
            evidence=evidence,
            mode=mode,
            summary=f"predicted breach at {prediction.breach_at}: "
            f"{prediction.explanation.get('reason', '')}",
        )
        return await workflow.execute_activity(
            activity_name(names.INCIDENT_OPEN_OR_ATTACH),
            request,
            result_type=OpenResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_OPEN_RETRY,
        )

    @workflow.run
    async def run(self, monitor: MonitorRun) -> ForecastResult:
        """Run the forecast monitor once."""
        prediction = await workflow.execute_activity(
            activity_name(names.PREDICTION_PREDICT_BREACH),
            PredictRequest(
                monitor=monitor.name,
                source=monitor.source,
                forecast=monitor.detector,
                window_seconds=monitor.window_seconds,
            ),
            result_type=PredictResult,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=_PREDICT_RETRY,
        )
        result = ForecastResult(
            monitor=monitor.name,
            state=prediction.state,
            breach=prediction.breach,
            model=prediction.model,
            breach_at=prediction.breach_at,
            explanation=prediction.explanation,
        )
        if not prediction.breach:
            result.reason = str(prediction.explanation.get("reason", "no breach predicted"))
            return result
        simulated = await self._open(monitor, prediction, "simulate")
        result.simulated_incident = simulated.incident_id
        outcome: dict[str, Any] = await workflow.execute_activity(
            activity_name(names.INCIDENT_AWAIT_OUTCOME),
            simulated.incident_id,
            result_type=dict,
            start_to_close_timeout=timedelta(minutes=10),
            heartbeat_timeout=timedelta(seconds=30),
        )
        result.plan = list(outcome.get("plan", []))
        refusal = plan_verdict(result.plan, str(outcome.get("status")))
        if refusal is not None:
            result.reason = f"not applied: {refusal}"
            return result
        applied = await self._open(monitor, prediction, "apply")
        result.applied_incident = applied.incident_id
        result.reason = "plan handed to the apply-mode incident; its gate decides each action"
        return result
