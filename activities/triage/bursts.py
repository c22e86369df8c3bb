"""Failure bursts and spikes over webhook deliveries, with the detectors' window rules.

A burst is about all failures together; spikes are per endpoint and per tenant. Each rule is
judged at ``now`` over the failed attempts' timestamps.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from activities.detectors.base import Score, to_epoch_seconds
from activities.detectors.rates import (
    BurstSettings,
    EndpointSpikeSettings,
    RateRuleSettings,
    TenantSpikeSettings,
    rate_rule_score,
)
from activities.triage.models import DeliveryAttempt

FindingKind = Literal["burst", "endpoint_spike", "tenant_spike"]


@dataclass(frozen=True)
class DeliveryFinding:
    """A rule that fired: what kind, over which key (``*`` for all), and its score."""

    kind: FindingKind
    key: str
    score: Score


def detect_delivery_anomalies(
    attempts: Iterable[DeliveryAttempt],
    now: datetime | None = None,
    history_start: datetime | None = None,
    burst: RateRuleSettings | None = None,
    endpoint_spike: RateRuleSettings | None = None,
    tenant_spike: RateRuleSettings | None = None,
) -> list[DeliveryFinding]:
    """Return the bursts and spikes of failed deliveries at ``now``, strongest first.

    Args:
        attempts: Delivery attempts in any order; only failures count.
        now: End of the recent window (default: the latest attempt).
        history_start: When observation began (default: the earliest attempt); rules whose
            baseline window is not covered yet report nothing.
        burst: All failures together (default: 50 % above the 1 h baseline).
        endpoint_spike: Per endpoint (default: 10x its 24 h baseline).
        tenant_spike: Per tenant (default: 5x its 24 h baseline).
    """
    stamped = [(a, to_epoch_seconds(a.timestamp)) for a in attempts if a.timestamp is not None]
    if not stamped:
        return []
    end = to_epoch_seconds(now) if now is not None else max(t for _, t in stamped)
    start = (
        to_epoch_seconds(history_start) if history_start is not None else min(t for _, t in stamped)
    )
    failures = [(a, t) for a, t in stamped if a.failed]
    rules: list[tuple[FindingKind, RateRuleSettings, Callable[[DeliveryAttempt], str]]] = [
        ("burst", burst or BurstSettings(), lambda _: "*"),
        ("endpoint_spike", endpoint_spike or EndpointSpikeSettings(), lambda a: a.endpoint),
        ("tenant_spike", tenant_spike or TenantSpikeSettings(), lambda a: a.tenant),
    ]
    findings = []
    for kind, settings, key_of in rules:
        grouped: dict[str, list[float]] = defaultdict(list)
        for attempt, seconds in failures:
            grouped[key_of(attempt)].append(seconds)
        for key, times in grouped.items():
            score = rate_rule_score(np.sort(np.asarray(times)), end, settings, start, detector=kind)
            if score.is_anomaly:
                findings.append(DeliveryFinding(kind, key, score))
    findings.sort(key=lambda finding: -finding.score.score)
    return findings
