"""Delivery activities: triage, replay advice and burst/spike detection over stored attempts.

They only read the app database and run the pure functions of ``activities.triage``; the
workflows run them as local activities (short, in-process, recorded as markers). They are
synchronous: the worker runs them on its thread pool, off the event loop.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import names
from activities.deliveries.store import (
    failures_since,
    first_attempt_at,
    latest_attempts,
    tenant_attempts,
    to_attempt,
    verdict,
)
from activities.deliveries.types import (
    AdviceLookup,
    DetectRequest,
    DetectResult,
    ReplayAdvice,
    ReplayRecommendation,
    TriageLookup,
    TriageReport,
    WatchFinding,
)
from activities.detectors.rates import (
    BurstSettings,
    EndpointSpikeSettings,
    RateRuleSettings,
    TenantSpikeSettings,
)
from activities.triage import DeliveryAttempt, detect_delivery_anomalies, replay_recommendations

RULES: dict[str, type[RateRuleSettings]] = {
    "burst": BurstSettings,
    "endpoint_spike": EndpointSpikeSettings,
    "tenant_spike": TenantSpikeSettings,
}


def _time(value: str, name: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ApplicationError(f"{name} needs a UTC offset: {value!r}", non_retryable=True)
    return moment


def rule_settings(overrides: dict[str, dict[str, float]]) -> dict[str, RateRuleSettings]:
    """The three rules with a monitor's overrides applied.

    Raises:
        ApplicationError: Non-retryable, naming an unknown rule or setting.
    """
    unknown = set(overrides) - set(RULES)
    if unknown:
        raise ApplicationError(
            f"unknown delivery rules {sorted(unknown)}; known: {', '.join(RULES)}",
            type="InvalidParameters",
            non_retryable=True,
        )
    built = {}
    for name, cls in RULES.items():
        known = {f.name for f in fields(cls)}
        bad = set(overrides.get(name, {})) - known
        if bad:
            raise ApplicationError(
                f"unknown settings {sorted(bad)} of rule {name}; known: {', '.join(sorted(known))}",
                type="InvalidParameters",
                non_retryable=True,
            )
        changes: dict[str, Any] = dict(overrides.get(name, {}))
        built[name] = replace(cls(), **changes)
    return built


def _plain(value: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready copy: numpy scalars become Python numbers (payloads are JSON)."""
    plain: dict[str, Any] = json.loads(json.dumps(value, default=lambda o: o.item()))
    return plain


def _covered(settings: RateRuleSettings, observed_seconds: float) -> bool:
    """Whether history is long enough for the rule (as ``rate_verdict`` judges it)."""
    covered = min(
        settings.baseline_window_seconds, observed_seconds - settings.recent_window_seconds
    )
    return covered > 0 and covered >= settings.min_baseline_coverage * (
        settings.baseline_window_seconds
    )


def _tenants(
    attempts: list[DeliveryAttempt], kind: str, key: str, since: datetime, most: int
) -> list[str]:
    """Tenants with recent failures that a finding covers, busiest first."""
    counts: dict[str, int] = {}
    for attempt in attempts:
        if attempt.timestamp is None or attempt.timestamp <= since:
            continue
        if (kind == "endpoint_spike" and attempt.endpoint != key) or (
            kind == "tenant_spike" and attempt.tenant != key
        ):
            continue
        counts[attempt.tenant] = counts.get(attempt.tenant, 0) + 1
    return sorted(counts, key=lambda tenant: (-counts[tenant], tenant))[:most]


class DeliveryActivities:
    """Reads delivery attempts and judges them; one instance per worker holds the engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=names.DELIVERY_TRIAGE)
    def triage(self, lookup: TriageLookup) -> TriageReport:
        """Triage the latest attempt of each delivery; ids with no attempt are ``unknown``."""
        with Session(self._engine) as session:
            latest = latest_attempts(session, lookup.delivery_ids)
        ids = list(dict.fromkeys(lookup.delivery_ids))
        return TriageReport(
            verdicts=[verdict(to_attempt(latest[i])) for i in ids if i in latest],
            unknown=[i for i in ids if i not in latest],
        )

    @activity.defn(name=names.DELIVERY_ADVISE)
    def advise(self, lookup: AdviceLookup) -> ReplayAdvice:
        """The replay advisor over the tenant's attempts since ``lookup.since``."""
        since = _time(lookup.since, "since")
        with Session(self._engine) as session:
            rows = tenant_attempts(session, lookup.tenant, since)
        plan = replay_recommendations((to_attempt(r) for r in rows), lookup.tenant, since)
        return ReplayAdvice(
            tenant=lookup.tenant,
            since=since.isoformat(),
            recommendations=[
                ReplayRecommendation(
                    verdict=verdict(r.attempt, r.triage),
                    first_attempt_at=r.first_attempt_at.isoformat(),
                )
                for r in plan.recommendations[: lookup.limit]
            ],
            total=len(plan.recommendations),
            counts=plan.counts,
            confidence_level=plan.confidence_level,
            confidence_reason=plan.confidence_reason,
        )

    @activity.defn(name=names.DELIVERY_DETECT)
    def detect(self, request: DetectRequest) -> DetectResult:
        """Run the burst, endpoint-spike and tenant-spike rules at ``request.now``."""
        now = _time(request.now, "now")
        rules = rule_settings(request.rules)
        reach = max(s.recent_window_seconds + s.baseline_window_seconds for s in rules.values())
        with Session(self._engine) as session:
            start = first_attempt_at(session, request.tenant)
            rows = failures_since(session, now - timedelta(seconds=reach), request.tenant)
        if start is None:
            return DetectResult(not_enough_data=list(rules))
        attempts = [to_attempt(row) for row in rows if row.timestamp <= now]
        observed = (now - start).total_seconds()
        found = detect_delivery_anomalies(
            attempts,
            now=now,
            history_start=start,
            burst=rules["burst"],
            endpoint_spike=rules["endpoint_spike"],
            tenant_spike=rules["tenant_spike"],
        )
        findings = []
        for f in found:
            recent_start = now - timedelta(seconds=rules[f.kind].recent_window_seconds)
            tenants = _tenants(attempts, f.kind, f.key, recent_start, request.max_tenants)
            findings.append(
                WatchFinding(
                    kind=f.kind,
                    key=f.key,
                    score=float(f.score.score),
                    tenants=tenants,
                    explanation=_plain(f.score.explanation),
                )
            )
        return DetectResult(
            findings=findings,
            not_enough_data=[name for name, s in rules.items() if not _covered(s, observed)],
            failures=len(attempts),
        )
