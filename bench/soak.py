"""Soak: the real stack at a steady incident rate with approvals, for many minutes.

``python -m bench.soak [--minutes 30] [--per-minute 12] [--workers 2]`` (``make soak``) runs
``steward up`` on free ports under a temporary home (Temporal on a SQLite file, the demo
target, the workers, the API; the shipped policy with rate limits raised and the circuit
breaker off) and opens incidents at a steady rate, in turn: auto-allowed
(scale out, verified), approval-gated (restart and purge, approved over REST as soon as the
approval shows up) and failing verification (scaled, then rolled back). It prints one JSON
document:

* ``open_to_first_action_ms``: from sending ``POST /api/v1/incidents`` to the first action
  applied at the target (the target's own log), p50/p99, over incidents that needed no vote;
* ``approval_to_applied_ms``: from sending the approving vote to the approved action applied at
  the target, p50/p99;
* ``outcomes``: incidents by final status (``open`` etc. if any did not finish);
* ``rss_kib``: the resident memory of every process (API, each worker, Temporal, the demo
  target) after warm-up and at the end.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.harness.live_stack import FINAL, LiveStack
from bench.stats import percentile

KINDS: list[dict[str, Any]] = [
    {"playbook": "high_latency", "params": {}},
    {"playbook": "error_burst", "params": {}},
    {"playbook": "high_latency", "params": {"p95_threshold_ms": 10, "verify_within_seconds": 2}},
]
DRAIN_SECONDS = 180


def now() -> datetime:
    return datetime.now(UTC)


class Soak:
    """Opens incidents on a clock and approves what they ask for, noting when."""

    def __init__(self, stack: LiveStack, keys: dict[str, str]) -> None:
        self.stack, self.keys = stack, keys
        self.tag = uuid.uuid4().hex[:6]
        self.opened: dict[str, datetime] = {}
        self.voted: dict[str, tuple[str, int, datetime]] = {}  # approval -> incident, step, at
        self.stop = threading.Event()

    def open_one(self, n: int) -> None:
        body = {"service": "demo", "signal": f"soak-{self.tag}-{n}", "severity": "high"}
        sent = now()
        answer = self.stack.request(
            "POST", "/api/v1/incidents", self.keys["engineer"], json={**body, **KINDS[n % 3]}
        )
        answer.raise_for_status()
        self.opened[answer.json()["id"]] = sent

    def approve(self) -> None:
        while not self.stop.is_set():
            pending = self.stack.request("GET", "/api/v1/approvals", self.keys["operator"]).json()
            for approval in pending:
                if approval["incident_id"] in self.opened and approval["id"] not in self.voted:
                    sent = now()
                    answer = self.stack.request(
                        "POST",
                        f"/api/v1/approvals/{approval['id']}/decision",
                        self.keys["operator"],
                        json={"decision": "approve", "comment": "soak"},
                    )
                    if answer.status_code == 200:
                        self.voted[approval["id"]] = (
                            approval["incident_id"],
                            int(approval["step"]),
                            sent,
                        )
            time.sleep(0.1)

    def unfinished(self) -> int:
        rows = dict(self.stack.query("SELECT id, status FROM incident"))
        return sum(rows.get(i) not in FINAL for i in self.opened)


def latencies(soak: Soak, actions: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Open -> first action and approval -> applied, from the target's own action log."""
    applied_at: dict[str, datetime] = {}
    for action in actions:
        key = action["idempotency_key"]
        if key and key not in applied_at:
            applied_at[key] = datetime.fromisoformat(action["at"])
    # Only incidents whose first action needed no vote: the others wait for a person.
    gated = {incident for incident, _, _ in soak.voted.values()}
    first_action = []
    for incident, sent in soak.opened.items():
        times = [at for key, at in applied_at.items() if key.startswith(f"{incident}:")]
        if times and incident not in gated:
            first_action.append((min(times) - sent).total_seconds() * 1000)
    after_vote = [
        (applied_at[f"{incident}:{step}"] - sent).total_seconds() * 1000
        for incident, step, sent in soak.voted.values()
        if f"{incident}:{step}" in applied_at
    ]

    def summary(values: list[float]) -> dict[str, float]:
        if not values:
            return {"count": 0}
        return {
            "count": len(values),
            "p50": round(percentile(values, 50), 1),
            "p99": round(percentile(values, 99), 1),
        }

    return {
        "open_to_first_action_ms": summary(first_action),
        "approval_to_applied_ms": summary(after_vote),
    }


def run(minutes: float, per_minute: float, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        # No circuit breaker: the rolled-back third would open it, and every scale-out would
        # then wait for a vote; only the restarts (critical tier) ask for approval.
        stack = LiveStack(Path(tmp) / "home", workers=workers, circuit_breaker=False)
        try:
            stack.start()
            stack.wait_healthy()
            soak = Soak(stack, stack.make_keys())
            approver = threading.Thread(target=soak.approve, daemon=True)
            approver.start()
            rss_start = stack.rss_kib()
            interval, started = 60.0 / per_minute, time.monotonic()
            n = 0
            while time.monotonic() - started < minutes * 60:
                soak.open_one(n)
                n += 1
                time.sleep(max(0.0, started + n * interval - time.monotonic()))
            deadline = time.monotonic() + DRAIN_SECONDS
            while soak.unfinished() and time.monotonic() < deadline:
                time.sleep(1)
            soak.stop.set()
            approver.join(30)
            rss_end = stack.rss_kib()
            actions = httpx.get(f"{stack.demo_url}/admin/actions", timeout=30).json()
            rows = dict(stack.query("SELECT id, status FROM incident"))
        finally:
            stack.stop()
    return {
        "benchmark": "soak",
        "minutes": minutes,
        "incidents_per_minute": per_minute,
        "worker_processes": workers,
        "incidents": len(soak.opened),
        "approvals": len(soak.voted),
        **latencies(soak, actions),
        "outcomes": dict(collections.Counter(rows.get(i, "not recorded") for i in soak.opened)),
        "rss_kib": {
            name: {"start": rss_start.get(name), "end": rss_end.get(name)}
            for name in sorted(set(rss_start) | set(rss_end))
        },
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--per-minute", type=float, default=12.0, help="incidents per minute")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.minutes <= 0 or args.per_minute <= 0 or args.workers < 1:
        parser.error("--minutes and --per-minute must be positive, --workers at least 1")
    print(json.dumps(run(args.minutes, args.per_minute, args.workers), indent=2))
