"""Inputs and results of the delivery activities (stdlib dataclasses only).

The results are also the delivery workflows' results: ``workflows.delivery_types``
re-exports them for the API, which may not import ``activities``.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(kw_only=True)
class TriageLookup:
    """Triage the latest stored attempt of each of these deliveries."""

    delivery_ids: list[str]


@dataclass(kw_only=True)
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


@dataclass(kw_only=True)
class TriageReport:
    """Verdicts in the order asked, and the ids no attempt is stored for."""

    verdicts: list[DeliveryVerdict]
    unknown: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class AdviceLookup:
    """Ask the replay advisor about one tenant since a moment (ISO 8601 with an offset)."""

    tenant: str
    since: str
    limit: int = 500


@dataclass(kw_only=True)
class ReplayRecommendation:
    """One delivery safe to replay: its latest attempt's verdict and its first attempt's time."""

    verdict: DeliveryVerdict
    first_attempt_at: str


@dataclass(kw_only=True)
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


@dataclass(kw_only=True)
class DetectRequest:
    """Run the burst and spike rules over the stored failures at ``now``.

    Attributes:
        now: End of the recent window, ISO 8601 (the workflow's time, so a retry judges the
            same moment).
        tenant: Only this tenant's deliveries, when set.
        rules: Per-rule overrides of ``RateRuleSettings`` fields, by rule name (``burst``,
            ``endpoint_spike``, ``tenant_spike``), e.g. ``{"burst": {"ratio_threshold": 2}}``.
        max_tenants: Most tenants listed per finding.
    """

    now: str
    tenant: str | None = None
    rules: dict[str, dict[str, float]] = field(default_factory=dict)
    max_tenants: int = 20


@dataclass(kw_only=True)
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


@dataclass(kw_only=True)
class DetectResult:
    """The findings, strongest first, and the rules that lack history to judge."""

    findings: list[WatchFinding] = field(default_factory=list)
    not_enough_data: list[str] = field(default_factory=list)
    failures: int = 0
