"""Triage on a corpus of real library failures, conflict safety, the replay advisor, bursts."""

from __future__ import annotations

import json
import socket
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from activities.triage import (
    Category,
    DeliveryAttempt,
    detect_delivery_anomalies,
    replay_recommendations,
    triage,
)

CORPUS = Path(__file__).parents[2] / "data" / "triage_corpus.jsonl"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def load_corpus() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text().splitlines()]


def attempt(
    status: int | None, text: str = "", headers: dict | None = None, **fields
) -> DeliveryAttempt:
    base = {
        "id": "d1",
        "tenant": "acme",
        "endpoint": "https://hooks.acme.test/in",
        "attempt": 1,
        "timestamp": T0,
    }
    base.update(fields)
    return DeliveryAttempt(
        status_code=status, error_text=text, response_headers=headers or {}, **base
    )


def test_corpus_accuracy_and_safety() -> None:
    rows = load_corpus()
    assert len(rows) >= 300
    assert set(Counter(row["label"] for row in rows)) == {c.value for c in Category}
    correct, unsafe = 0, []
    for row in rows:
        verdict = triage(attempt(row["status_code"], row["error_text"], row["response_headers"]))
        correct += verdict.category.value == row["label"]
        if row["label"] != Category.TRANSIENT_ENDPOINT_DOWN and verdict.safe_to_replay:
            unsafe.append(row["id"])
    assert correct / len(rows) >= 0.95
    assert unsafe == [], "a non-transient failure was called safe to replay"


def test_live_httpx_failures_against_a_closed_port_are_transient() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(httpx.ConnectError) as caught:
        httpx.post(f"http://127.0.0.1:{port}/hooks/invalid-schema", timeout=1)
    verdict = triage(attempt(None, f"{type(caught.value).__name__}: {caught.value}"))
    assert verdict.category is Category.TRANSIENT_ENDPOINT_DOWN and verdict.confidence > 80


@pytest.mark.parametrize(
    ("status", "text", "headers"),
    [
        (404, "upstream timeout while routing", {}),
        (400, "Bad Request: connection reset while reading body", {}),
        (422, '{"detail": [{"msg": "Field required"}]} (gateway timeout)', {}),
        (None, "schema validation failed; connection reset by peer", {}),
        (500, '{"error": "payload failed schema validation"}', {}),
        (None, "HTTP/1.1 410 Gone", {}),
        (None, "certificate verify failed: self-signed certificate", {}),
        (
            None,
            "Invalid URL 'hooks.acme.test': No scheme supplied. Perhaps you meant https://hooks.acme.test?",
            {},
        ),
    ],
)
def test_conflicting_signals_never_become_safe_to_replay(
    status: int | None, text: str, headers: dict
) -> None:
    verdict = triage(attempt(status, text, headers))
    assert verdict.category is not Category.TRANSIENT_ENDPOINT_DOWN
    assert not verdict.safe_to_replay
    assert verdict.reason and verdict.recommended_action


def test_rate_limits_read_status_headers_and_wording() -> None:
    exhausted = triage(attempt(403, "API rate limit exceeded", {"x-ratelimit-remaining": "0"}))
    assert (
        exhausted.category is Category.RATE_LIMITED and "X-RateLimit-Remaining" in exhausted.reason
    )
    waiting = triage(attempt(503, "Service Unavailable", {"Retry-After": "120"}))
    assert waiting.category is Category.RATE_LIMITED and waiting.retry_after_seconds == 120
    assert "120s" in waiting.recommended_action
    dated = triage(attempt(429, "", {"Retry-After": "Wed, 01 May 2024 12:01:00 GMT"}))
    assert dated.retry_after_seconds == pytest.approx(60)
    assert triage(attempt(None, "Request was throttled")).category is Category.RATE_LIMITED


def test_locations_in_messages_do_not_read_as_errors() -> None:
    text = (
        "HTTPSConnectionPool(host='timeout.invalid-hooks.test', port=443): Max retries exceeded "
        "with url: /validation/not-found (Caused by NewConnectionError('Failed to establish a new "
        "connection: [Errno 111] Connection refused'))"
    )
    verdict = triage(attempt(None, text))
    assert verdict.category is Category.TRANSIENT_ENDPOINT_DOWN
    assert "permanent" not in " ".join(verdict.signals)


def test_success_is_not_a_failure() -> None:
    verdict = triage(attempt(200, ""))
    assert (
        verdict.category is Category.UNKNOWN and verdict.recommended_action == "nothing to replay"
    )


def test_replay_recommends_confident_transient_failures_oldest_first_once_each() -> None:
    minute = timedelta(minutes=1)
    attempts = [
        attempt(503, "Service Unavailable", id="late", timestamp=T0 + 5 * minute),
        attempt(None, "[Errno 111] Connection refused", id="early", timestamp=T0 + minute),
        attempt(
            None, "[Errno 111] Connection refused", id="early", attempt=2, timestamp=T0 + 2 * minute
        ),
        attempt(404, "Not Found", id="gone", timestamp=T0),
        attempt(429, "", id="slow", timestamp=T0),
        attempt(502, "Bad Gateway", id="healed", timestamp=T0),
        attempt(200, "", id="healed", attempt=2, timestamp=T0 + minute),
        attempt(502, "Bad Gateway", id="other-tenant", tenant="globex", timestamp=T0),
        attempt(502, "Bad Gateway", id="too-old", timestamp=T0 - timedelta(days=2)),
    ]
    plan = replay_recommendations(attempts, "acme", since=T0 - timedelta(hours=1))
    assert [r.attempt.id for r in plan.recommendations] == ["early", "late"]
    assert plan.recommendations[0].attempt.attempt == 2  # judged on the latest attempt
    assert all(r.triage.confidence > 80 for r in plan.recommendations)
    assert plan.counts == {
        "transient_endpoint_down": 2,
        "permanent_4xx": 1,
        "rate_limited": 1,
        "unknown": 0,
    }
    assert plan.confidence_level == "high"
    nothing = replay_recommendations(attempts[3:5], "acme", since=T0 - timedelta(hours=1))
    assert nothing.recommendations == [] and nothing.confidence_level == "none"


def test_bursts_and_spikes_over_deliveries() -> None:
    deliveries = []
    # two hours of one failure a minute, spread over four endpoints and two tenants
    for i in range(120):
        deliveries.append(
            attempt(
                503,
                "x",
                id=f"b{i}",
                endpoint=f"https://e{i % 4}.test",
                tenant=f"t{i % 2}",
                timestamp=T0 + timedelta(minutes=i),
            )
        )
    now = T0 + timedelta(minutes=120)
    assert detect_delivery_anomalies(deliveries, now=now) == []
    # then 30 failures in the last 5 minutes, all on one endpoint of one tenant
    for i in range(30):
        deliveries.append(
            attempt(
                None,
                "Connection refused",
                id=f"s{i}",
                endpoint="https://e9.test",
                tenant="t1",
                timestamp=now - timedelta(seconds=10 * i),
            )
        )
    findings = detect_delivery_anomalies(deliveries, now=now)
    kinds = {(finding.kind, finding.key) for finding in findings}
    assert ("burst", "*") in kinds
    # spikes compare with a 24 h baseline, which two hours of history do not cover yet
    assert all(finding.kind == "burst" for finding in findings)
    day_later = detect_delivery_anomalies(
        deliveries, now=now, history_start=now - timedelta(days=2)
    )
    assert ("endpoint_spike", "https://e9.test") in {(f.kind, f.key) for f in day_later}
    assert ("tenant_spike", "t1") in {(f.kind, f.key) for f in day_later}
    assert all(f.score.is_anomaly for f in day_later)
