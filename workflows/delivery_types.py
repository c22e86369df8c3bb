"""Public inputs and results of the webhook-delivery workflows (imported by the API).

The API may not import ``activities``, so its triage and replay-advice answers come from short
workflow runs whose inputs and results are these types; each answer is then in the history.
"""

from dataclasses import dataclass, field

from temporalio import workflow

# The workflows return their activities' results as they are; re-exported for the API.
with workflow.unsafe.imports_passed_through():
    from activities.deliveries.types import (
        DeliveryVerdict,
        ReplayAdvice,
        ReplayRecommendation,
        TriageReport,
        WatchFinding,
    )

__all__ = [
    "DELIVERY_WATCH_WORKFLOW",
    "MAX_TRIAGE_IDS",
    "REPLAY_ADVICE_WORKFLOW",
    "TRIAGE_WORKFLOW",
    "DeliveryVerdict",
    "DeliveryWatchResult",
    "ReplayAdvice",
    "ReplayAdviceRequest",
    "ReplayRecommendation",
    "TriageReport",
    "TriageRequest",
    "WatchFinding",
]

TRIAGE_WORKFLOW = "triage_deliveries"
REPLAY_ADVICE_WORKFLOW = "replay_advice"
DELIVERY_WATCH_WORKFLOW = "delivery_watch"
# Most delivery ids one triage request may name.
MAX_TRIAGE_IDS = 100


@dataclass(kw_only=True)
class TriageRequest:
    """Triage the latest attempt of each delivery.

    Attributes:
        delivery_ids: Delivery ids, at most ``MAX_TRIAGE_IDS``.
    """

    delivery_ids: list[str]


@dataclass(kw_only=True)
class ReplayAdviceRequest:
    """Ask the replay advisor about one tenant's failures since a moment.

    Attributes:
        tenant: The tenant.
        since: ISO 8601 time with an offset; older attempts are not considered.
        limit: Most recommendations returned (the counts cover all of them).
    """

    tenant: str
    since: str
    limit: int = 500


@dataclass(kw_only=True)
class DeliveryWatchResult:
    """What one run of a ``deliveries`` monitor found and which incidents it opened or fed.

    Attributes:
        findings: Bursts and spikes, strongest first.
        incidents: Incident ids the findings were opened as or attached to.
        opened: Whether a new incident was opened by this run.
        not_enough_data: Rules whose baseline window history does not cover yet.
    """

    findings: list[WatchFinding] = field(default_factory=list)
    incidents: list[str] = field(default_factory=list)
    opened: bool = False
    not_enough_data: list[str] = field(default_factory=list)
