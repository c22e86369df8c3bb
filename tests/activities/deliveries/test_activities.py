"""Delivery activities called directly."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError

from activities.deliveries.activities import DeliveryActivities
from activities.deliveries.types import DetectRequest, TriageLookup
from tests.support.deliveries import TRANSIENT_503, ago, attempt, store


def test_detect_refuses_unknown_rules_and_settings(engine: Engine) -> None:
    activities = DeliveryActivities(engine)
    now = ago(seconds=0).isoformat()
    with pytest.raises(ApplicationError, match="unknown delivery rules") as bad_rule:
        activities.detect(DetectRequest(now=now, rules={"bursts": {}}))
    assert bad_rule.value.non_retryable
    with pytest.raises(ApplicationError, match="unknown settings \\['ratio'\\] of rule burst"):
        activities.detect(DetectRequest(now=now, rules={"burst": {"ratio": 2.0}}))
    with pytest.raises(ApplicationError, match="UTC offset"):
        activities.detect(DetectRequest(now="2026-11-01T00:00:00"))


def test_detect_honours_overrides_and_tenant(engine: Engine) -> None:
    store(engine, [attempt(f"x-{i}", TRANSIENT_503, at=ago(seconds=10 * i)) for i in range(6)])
    store(engine, [attempt("old", TRANSIENT_503, tenant="globex", at=ago(hours=2))])
    activities = DeliveryActivities(engine)
    now = ago(seconds=0).isoformat()
    # Only acme's history: 50 s of it covers no baseline at all.
    assert activities.detect(DetectRequest(now=now, tenant="acme")).not_enough_data == [
        "burst",
        "endpoint_spike",
        "tenant_spike",
    ]
    shorter = {"burst": {"baseline_window_seconds": 600.0}}
    found = activities.detect(DetectRequest(now=now, rules=shorter))
    assert [(f.kind, f.tenants) for f in found.findings] == [("burst", ["acme"])]
    assert found.failures == 7  # read over the longest rule's reach (24 h 5 min)


def test_triage_reports_unknown_ids_in_order(engine: Engine) -> None:
    store(engine, [attempt("k-1", TRANSIENT_503)])
    verdicts = DeliveryActivities(engine).triage(TriageLookup(delivery_ids=["nope", "k-1", "nope"]))
    assert [v.delivery_id for v in verdicts.verdicts] == ["k-1"]
    assert verdicts.unknown == ["nope"]
