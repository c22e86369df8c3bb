"""Latency of webhook-delivery triage and of burst detection.

Run ``python -m bench.triage``; prints one JSON object. Targets from DESIGN.md: triage of 100
deliveries under 10 ms, burst detection over 1,000 deliveries under 100 ms.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from activities.triage import DeliveryAttempt, detect_delivery_anomalies, triage

TARGET_TRIAGE_100_MS = 10.0
TARGET_BURST_1000_MS = 100.0
REPEATS = 50

FAILURES: list[tuple[int | None, str, dict[str, str]]] = [
    (
        None,
        "HTTPConnectionPool(host='h', port=443): Max retries exceeded with url: /in (Caused by "
        "NewConnectionError(': Failed to establish a new connection: [Errno 111] Connection "
        "refused'))",
        {},
    ),
    (None, "httpx.ConnectTimeout: timed out", {}),
    (None, "[Errno -2] Name or service not known", {}),
    (502, "<html><head><title>502 Bad Gateway</title></head></html>", {}),
    (422, '{"detail":[{"type":"missing","loc":["body","event"],"msg":"Field required"}]}', {}),
    (404, "Not Found", {}),
    (429, "Too Many Requests", {"Retry-After": "30"}),
    (403, "API rate limit exceeded", {"X-RateLimit-Remaining": "0"}),
    (None, "ServerDisconnectedError: Server disconnected", {}),
    (500, "Internal Server Error", {}),
]


def deliveries(count: int, seed: int = 3) -> list[DeliveryAttempt]:
    """Return ``count`` failed attempts over two hours, ending in a burst on one endpoint."""
    rng = random.Random(seed)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    attempts = []
    for i in range(count):
        status, text, headers = rng.choice(FAILURES)
        late = i >= count * 0.9
        moment = start + timedelta(
            seconds=7200 - rng.uniform(0, 300) if late else rng.uniform(0, 7200)
        )
        attempts.append(
            DeliveryAttempt(
                f"d{i}",
                f"t{i % 7}",
                f"https://e{0 if late else i % 13}.test/in",
                status,
                text,
                headers,
                1,
                moment,
            )
        )
    return attempts


def _median_ms(action: Any) -> float:
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def run() -> dict[str, Any]:
    """Time both operations and report the medians against the targets."""
    hundred, thousand = deliveries(100), deliveries(1000)
    triage_ms = _median_ms(lambda: [triage(a) for a in hundred])
    burst_ms = _median_ms(lambda: detect_delivery_anomalies(thousand))
    return {
        "triage_100_ms": round(triage_ms, 3),
        "target_triage_100_ms": TARGET_TRIAGE_100_MS,
        "burst_detection_1000_ms": round(burst_ms, 3),
        "target_burst_1000_ms": TARGET_BURST_1000_MS,
        "findings": [f"{f.kind}:{f.key}" for f in detect_delivery_anomalies(thousand)],
    }


if __name__ == "__main__":
    print(json.dumps(run()))
