"""The replay advisor: which failed deliveries are safe to send again, oldest first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from activities.triage.models import Category, DeliveryAttempt, TriageResult
from activities.triage.rules import triage

REPLAY_CONFIDENCE = 80
ConfidenceLevel = Literal["high", "medium", "low", "none"]


@dataclass(frozen=True)
class Recommendation:
    """One delivery to replay: its latest attempt and that attempt's triage."""

    attempt: DeliveryAttempt
    triage: TriageResult
    first_attempt_at: datetime


@dataclass(frozen=True)
class ReplayPlan:
    """What the advisor recommends for a tenant since a moment.

    Attributes:
        recommendations: Deliveries to replay, oldest first, each at most once.
        counts: Failed deliveries per category (by each delivery's latest attempt).
        confidence_level: ``high``, ``medium``, ``low`` or ``none`` (nothing to replay).
        confidence_reason: Why that level.
    """

    recommendations: list[Recommendation]
    counts: dict[str, int] = field(default_factory=dict)
    confidence_level: ConfidenceLevel = "none"
    confidence_reason: str = ""


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def replay_recommendations(
    attempts: Iterable[DeliveryAttempt], tenant: str, since: datetime
) -> ReplayPlan:
    """Recommend the tenant's transient failures since ``since`` with confidence above 80.

    Attempts are grouped by delivery id and each delivery is judged by its latest attempt: a
    delivery that later succeeded is not replayed, and one whose latest failure is permanent,
    rate-limited or unknown is never recommended.
    """
    since = _aware(since)
    latest: dict[str, DeliveryAttempt] = {}
    first_seen: dict[str, datetime] = {}
    for attempt in attempts:
        moment = _aware(attempt.timestamp)
        if attempt.tenant != tenant or moment < since:
            continue
        first_seen[attempt.id] = min(first_seen.get(attempt.id, moment), moment)
        current = latest.get(attempt.id)
        if current is None or (attempt.attempt, moment) > (
            current.attempt,
            _aware(current.timestamp),
        ):
            latest[attempt.id] = attempt
    counts: Counter[str] = Counter({category.value: 0 for category in Category})
    recommendations = []
    for delivery_id, attempt in latest.items():
        if not attempt.failed:
            continue
        verdict = triage(attempt)
        counts[verdict.category.value] += 1
        if verdict.safe_to_replay:
            recommendations.append(Recommendation(attempt, verdict, first_seen[delivery_id]))
    recommendations.sort(key=lambda item: (item.first_attempt_at, item.attempt.id))
    level, reason = _confidence(recommendations, counts)
    return ReplayPlan(recommendations, dict(counts), level, reason)


def _confidence(
    recommendations: list[Recommendation], counts: Counter[str]
) -> tuple[ConfidenceLevel, str]:
    """Rate the plan: how sure the verdicts are and how much of the failure picture is unclear."""
    if not recommendations:
        return "none", "no transient failure with confidence above 80"
    failures = sum(counts.values())
    unknown_share = counts[Category.UNKNOWN.value] / failures
    weakest = min(item.triage.confidence for item in recommendations)
    if weakest >= 90 and unknown_share < 0.1:
        return "high", f"every verdict >= 90 and {unknown_share:.0%} of failures unclear"
    if unknown_share < 0.3:
        return "medium", f"weakest verdict {weakest} and {unknown_share:.0%} of failures unclear"
    return "low", f"{unknown_share:.0%} of failures are unclear; review before replaying"
