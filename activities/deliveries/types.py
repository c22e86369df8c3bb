"""Inputs and results of the delivery activities (stdlib dataclasses only).

Workflows import this module inside ``workflow.unsafe.imports_passed_through()`` and turn the
results into the public types of ``workflows.delivery_types``, which the API reads.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TriageLookup:
    """Triage the latest stored attempt of each of these deliveries."""

    delivery_ids: list[str]


@dataclass
class Verdict:
    """One delivery's latest attempt and its triage (fields as ``DeliveryVerdict``)."""

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
class Verdicts:
    """Verdicts in the order asked, and the ids with no stored attempt."""

    verdicts: list[Verdict]
    unknown: list[str] = field(default_factory=list)


@dataclass
class AdviceLookup:
    """Ask the replay advisor about one tenant since a moment (ISO 8601 with an offset)."""

    tenant: str
    since: str
    limit: int = 500


@dataclass
class AdvisedReplay:
    """One recommended delivery."""

    verdict: Verdict
    first_attempt_at: str


@dataclass
class Advice:
    """The advisor's answer (fields as ``ReplayAdvice``)."""

    tenant: str
    since: str
    recommendations: list[AdvisedReplay]
    total: int
    counts: dict[str, int]
    confidence_level: str
    confidence_reason: str


@dataclass
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


@dataclass
class Finding:
    """A rule that fired (fields as ``WatchFinding``)."""

    kind: str
    key: str
    score: float
    tenants: list[str]
    explanation: dict[str, Any] = field(default_factory=dict)


@dataclass
class DetectResult:
    """The findings, strongest first, and the rules that lack history to judge."""

    findings: list[Finding] = field(default_factory=list)
    not_enough_data: list[str] = field(default_factory=list)
    failures: int = 0
