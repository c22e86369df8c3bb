"""Public inputs and results of the webhook-delivery workflows (imported by the API).

The API may not import ``activities``, so its triage and replay-advice answers come from short
workflow runs whose inputs and results are these types; each answer is then in the history.
"""

from dataclasses import dataclass, field
from typing import Any

TRIAGE_WORKFLOW = "triage_deliveries"
REPLAY_ADVICE_WORKFLOW = "replay_advice"
DELIVERY_WATCH_WORKFLOW = "delivery_watch"
# Most delivery ids one triage request may name.
MAX_TRIAGE_IDS = 100


@dataclass
class TriageRequest:
    """Triage the latest attempt of each delivery.

    Attributes:
        delivery_ids: Delivery ids, at most ``MAX_TRIAGE_IDS``.
    """

    delivery_ids: list[str]


@dataclass
class DeliveryVerdict:
    """Triage of one delivery's latest attempt.

    Attributes:
        delivery_id: The delivery.
        attempt: Number of the attempt judged (the latest).
        tenant: Who the webhook belongs to.
        endpoint: The receiver's URL.
        status_code: HTTP status of that attempt, if a response arrived.
        timestamp: When that attempt was made, ISO 8601.
        category: ``transient_endpoint_down``, ``permanent_4xx``, ``rate_limited`` or
            ``unknown``.
        confidence: 0-100.
        reason: The rule that decided, with the signals it saw.
        recommended_action: What to do with the delivery.
        safe_to_replay: Transient with confidence above 80.
        retry_after_seconds: The wait the receiver asked for, when it said.
        signals: Every signal found, for audit.
    """

    delivery_id: str
    attempt: int
    tenant: str
    endpoint: str
    status_code: int | None
    timestamp: str
    category: str
    confidence: int
    reason: str
    recommended_action: str
    safe_to_replay: bool
    retry_after_seconds: float | None = None
    signals: list[str] = field(default_factory=list)


@dataclass
class TriageReport:
    """Verdicts in the order asked, and the ids no attempt is stored for."""

    verdicts: list[DeliveryVerdict]
    unknown: list[str] = field(default_factory=list)


@dataclass
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


@dataclass
class ReplayRecommendation:
    """One delivery safe to replay: its latest attempt's verdict and its first attempt's time."""

    verdict: DeliveryVerdict
    first_attempt_at: str


@dataclass
class ReplayAdvice:
    """What the advisor recommends for a tenant.

    Attributes:
        tenant: The tenant.
        since: The start of the window considered.
        recommendations: Deliveries to replay, oldest first, at most the request's limit.
        total: How many deliveries are recommended in all.
        counts: Failed deliveries per category, by each delivery's latest attempt.
        confidence_level: ``high``, ``medium``, ``low`` or ``none``.
        confidence_reason: Why that level.
    """

    tenant: str
    since: str
    recommendations: list[ReplayRecommendation]
    total: int
    counts: dict[str, int]
    confidence_level: str
    confidence_reason: str


@dataclass
class WatchFinding:
    """A burst or spike one ``delivery_watch`` run found.

    Attributes:
        kind: ``burst``, ``endpoint_spike`` or ``tenant_spike``.
        key: ``*`` for a burst, else the endpoint or the tenant.
        score: Anomaly score in [0, 1].
        tenants: Tenants with failures in the recent window that the finding covers.
        explanation: The rule's explanation (baseline, threshold, counts, ratio).
    """

    kind: str
    key: str
    score: float
    tenants: list[str]
    explanation: dict[str, Any] = field(default_factory=dict)


@dataclass
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
