"""Chaos on the real stack: SIGKILL of workers, Temporal, the API and the demo target mid-flight.

``make chaos`` (also part of ``make test``). ``steward up`` runs everything on free ports under a
temporary home and restarts what is killed. Dozens of incidents run meanwhile: auto-allowed ones,
approval-gated ones approved over REST while things die, and ones whose verification fails and
roll back. Afterwards every incident is final and its workflow closed, no idempotency key was
applied twice at the target, every approval holds exactly the one vote sent, and
``steward audit verify`` finds the ledger intact.
"""

from __future__ import annotations

import asyncio
import collections
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from bench.harness.live_stack import FINAL, LiveStack

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

MIN_INCIDENTS = 54
# Before each kill a burst of incidents is opened, so that the kill finds some in flight however
# quickly incidents finish; between kills they trickle in. The cap only bounds a run that hangs.
MAX_INCIDENTS = 400
MAX_IN_FLIGHT = 10
BURST = 6
TRICKLE_SECONDS = 3.0
# Each one is killed mid-flight; every component twice, except the demo target once.
KILLS = ["worker-1", "temporal", "api", "demo", "worker-2", "api", "temporal", "worker-1"]
KINDS: dict[str, dict[str, Any]] = {
    "auto": {"playbook": "high_latency", "params": {}},
    "approval": {"playbook": "error_burst", "params": {}},
    # 10 ms is below the demo's 40 ms floor: the check fails, the scale is undone.
    "rollback": {
        "playbook": "high_latency",
        "params": {"p95_threshold_ms": 10, "verify_within_seconds": 2},
    },
}


class Workload:
    """Opens incidents at a bounded concurrency and votes on their approvals, retrying."""

    def __init__(self, stack: LiveStack, keys: dict[str, str]) -> None:
        self.stack, self.keys = stack, keys
        self.tag = uuid.uuid4().hex[:6]
        self.incidents: dict[str, str] = {}  # id -> kind
        self.vote_attempts: collections.Counter[str] = collections.Counter()
        self.votes_accepted: set[str] = set()
        self.chaos_done = threading.Event()
        self._burst = 0
        self._burst_lock = threading.Lock()
        self.stop = threading.Event()
        self.errors: list[str] = []

    def in_flight(self) -> int:
        # A snapshot: the load threads keep adding incidents while this one counts.
        ids = list(self.incidents)
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        rows = self.stack.query(
            f"SELECT count(*) FROM incident WHERE id IN ({marks}) AND status NOT IN "  # noqa: S608
            f"({','.join(repr(s) for s in sorted(FINAL))})",
            *ids,
        )
        # An incident whose row is not written yet is in flight too.
        written = self.stack.query(
            f"SELECT count(*) FROM incident WHERE id IN ({marks})",  # noqa: S608
            *ids,
        )
        return int(rows[0][0]) + len(ids) - int(written[0][0])

    def burst(self, count: int) -> None:
        """Open ``count`` incidents back to back (the next kill then finds them in flight)."""
        with self._burst_lock:
            self._burst += count

    def _take_burst(self) -> bool:
        with self._burst_lock:
            if self._burst <= 0:
                return False
            self._burst -= 1
            return True

    def open_incidents(self) -> None:
        kinds = list(KINDS)
        last_opened = 0.0
        try:
            while len(self.incidents) < MAX_INCIDENTS and not self.stop.is_set():
                if len(self.incidents) >= MIN_INCIDENTS and self.chaos_done.is_set():
                    return
                # Back to back in a burst (and until the minimum once the kills are over);
                # otherwise a trickle, so that the count follows the kills, not their length.
                if self.in_flight() >= MAX_IN_FLIGHT:
                    time.sleep(0.2)
                    continue
                hurry = self.chaos_done.is_set() or self._take_burst()
                if not hurry and time.monotonic() - last_opened < TRICKLE_SECONDS:
                    time.sleep(0.2)
                    continue
                n = len(self.incidents)
                kind = kinds[n % len(kinds)]
                body = {
                    "service": "demo",
                    "signal": f"chaos-{self.tag}-{n}",
                    "severity": "high",
                    **KINDS[kind],
                }
                # The same body again after a crash: same fingerprint, same incident (200).
                answer = self.stack.request(
                    "POST", "/api/v1/incidents", self.keys["engineer"], json=body
                )
                assert answer.status_code in (200, 201), answer.text
                self.incidents[answer.json()["id"]] = kind
                last_opened = time.monotonic()
        except Exception as exc:  # reported by the test, not lost in a thread
            self.errors.append(f"opening: {exc!r}")

    def approve(self) -> None:
        try:
            while not self.stop.is_set():
                pending = self.stack.request("GET", "/api/v1/approvals", self.keys["operator"])
                listed = [a["id"] for a in pending.json()] if pending.status_code == 200 else []
                pending_ids = {
                    ident
                    for ident in listed
                    if ident.rsplit(".", 1)[0] in self.incidents
                    and ident not in self.votes_accepted
                }
                # A vote answered 503 (or cut off) is sent again, as the answer says, even when
                # the list no longer shows its approval: the list may be ahead of the workflow.
                for ident in sorted(pending_ids | (set(self.vote_attempts) - self.votes_accepted)):
                    self._vote(ident)
                time.sleep(0.3)
        except Exception as exc:
            self.errors.append(f"approving: {exc!r}")

    def _vote(self, approval_id: str) -> None:
        self.vote_attempts[approval_id] += 1
        try:
            answer = self.stack.http.post(
                f"{self.stack.api_url}/api/v1/approvals/{approval_id}/decision",
                json={"decision": "approve", "comment": "chaos"},
                headers={"X-API-Key": self.keys["operator"]},
            )
        except httpx.TransportError:
            return  # the API died under us: the approval list says whether it counted
        if answer.status_code == 200:
            self.votes_accepted.add(approval_id)
            # The same vote again, as a client that never saw the answer would: it is the same
            # Update, answered as counted (or 503 while a component is down), and never counted
            # a second time (the vote rows are checked at the end).
            self.vote_attempts[approval_id] += 1
            again = self.stack.request(
                "POST",
                f"/api/v1/approvals/{approval_id}/decision",
                self.keys["operator"],
                json={"decision": "approve", "comment": "chaos"},
            )
            counted = again.status_code == 200 and again.json().get("status") == "approved"
            if not counted and again.status_code != 503:
                self.errors.append(f"a repeated vote on {approval_id} got {again.status_code}")


def closed_workflows(address: str, ids: list[str]) -> dict[str, WorkflowExecutionStatus | None]:
    async def describe() -> dict[str, WorkflowExecutionStatus | None]:
        client = await Client.connect(address)
        return {i: (await client.get_workflow_handle(i).describe()).status for i in ids}

    return asyncio.run(describe())


def test_kill_nine_everything_mid_flight(tmp_path: Path) -> None:
    stack = LiveStack(tmp_path / "home", workers=2)
    try:
        stack.start()
        assert set(KILLS) <= set(stack.children()), stack.children()
        workload = Workload(stack, stack.make_keys())
        threads = [
            threading.Thread(target=workload.open_incidents, daemon=True),
            threading.Thread(target=workload.approve, daemon=True),
        ]
        for thread in threads:
            thread.start()
        in_flight_at_kill = []
        for victim in KILLS:
            workload.burst(BURST)
            deadline = time.monotonic() + 60
            while workload.in_flight() < 3 and time.monotonic() < deadline:
                time.sleep(0.2)
            in_flight_at_kill.append((victim, workload.in_flight()))
            stack.kill(victim)
            stack.wait_healthy()
            time.sleep(1.0)
        workload.chaos_done.set()
        threads[0].join(timeout=120)
        assert not threads[0].is_alive(), "incidents were still being opened"

        deadline = time.monotonic() + 120
        while workload.in_flight() and time.monotonic() < deadline:
            time.sleep(0.5)
        workload.stop.set()
        threads[1].join(timeout=30)
        assert workload.errors == []

        ids = sorted(workload.incidents)
        rows = dict(stack.query("SELECT id, status FROM incident"))
        open_rows = {i: rows.get(i) for i in ids if rows.get(i) not in FINAL}
        assert open_rows == {}, f"incidents not final: {open_rows}"
        statuses = closed_workflows(stack.env["STEWARD_TEMPORAL_ADDRESS"], ids)
        running = {i: s for i, s in statuses.items() if s == WorkflowExecutionStatus.RUNNING}
        assert running == {}, f"workflows still running: {running}"

        actions = httpx.get(f"{stack.demo_url}/admin/actions").json()
        applied = collections.Counter(a["idempotency_key"] for a in actions if a["idempotency_key"])
        assert [key for key, count in applied.items() if count > 1] == [], "a key applied twice"

        approvals = dict(stack.query("SELECT id, status FROM approval"))
        votes = dict(
            stack.query("SELECT approval_id, count(*) FROM approval_vote GROUP BY approval_id")
        )
        voted_on = set(workload.vote_attempts)
        assert votes == {approval: 1 for approval in voted_on}, "every vote sent counted once"
        assert {approvals[a] for a in voted_on} == {"approved"}

        verify = subprocess.run(
            [str(Path(sys.executable).parent / "steward"), "audit", "verify"],
            env=stack.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "ledger intact" in verify.stdout

        outcomes = collections.Counter(rows[i] for i in ids)
        kinds = collections.Counter(workload.incidents.values())
        summary = (
            f"{len(ids)} incidents {dict(outcomes)}, kinds {dict(kinds)}, "
            f"{len(voted_on)} approvals ({sum(workload.vote_attempts.values())} vote attempts), "
            f"{len(applied)} keys applied, kills with incidents in flight {in_flight_at_kill}"
        )
        print(summary)
        assert len(ids) >= MIN_INCIDENTS, summary
        assert all(count > 0 for _, count in in_flight_at_kill), summary
        assert outcomes["resolved"] and outcomes["rolled_back"] and len(voted_on) >= 10, summary
        assert stack.stop() == 0, stack.text()
    finally:
        stack.stop()
