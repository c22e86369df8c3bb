"""The demo target as a process: killed with SIGKILL and started again, it forgets nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.harness.servers import free_port

ITEM = {"delivery_id": "d-1", "tenant": "acme", "endpoint": "https://hooks.acme.test/in"}


@contextmanager
def demo_process(home: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m workers.demo_target`` on ``port`` with ``home`` as STEWARD_HOME."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workers.demo_target",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env={**os.environ, "STEWARD_HOME": str(home)},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "the demo target exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the demo target never answered"
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


def test_a_key_applied_before_a_kill_is_not_applied_again_after_restart(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    key = {"Idempotency-Key": "incident-1:1"}
    with demo_process(tmp_path, port) as first:
        applied = httpx.post(f"{url}/admin/scale", json={"replicas": 7}, headers=key)
        assert applied.json() == {"replicas": 7, "previous": 2}
        httpx.post(f"{url}/admin/faults", json={"latency_ms": 300}).raise_for_status()
        replay = httpx.post(
            f"{url}/admin/webhooks/replay", json={"deliveries": [ITEM]}, headers=key
        )
        assert replay.json()["results"][0]["status"] == "replayed"
        first.send_signal(signal.SIGKILL)
        first.wait(10)

    assert (tmp_path / "demo_target.db").exists()
    with demo_process(tmp_path, port):
        again = httpx.post(f"{url}/admin/scale", json={"replicas": 7}, headers=key)
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == {"replicas": 7, "previous": 2}, "the stored response, replayed"
        actions = httpx.get(f"{url}/admin/actions").json()
        assert [(a["action"], a["idempotency_key"]) for a in actions] == [("scale", "incident-1:1")]
        state = httpx.get(f"{url}/admin/state").json()
        assert (state["replicas"], state["faults"]["latency_ms"]) == (7, 300.0)
        conflict = httpx.post(f"{url}/admin/scale", json={"replicas": 9}, headers=key)
        assert conflict.status_code == 409, "the key still names the original request"
        duplicate = httpx.post(
            f"{url}/admin/webhooks/replay", json={"deliveries": [ITEM]}, headers=key
        )
        assert duplicate.json()["results"][0]["status"] == "duplicate"
        assert len(httpx.get(f"{url}/admin/webhooks/replays").json()) == 1

        httpx.post(f"{url}/admin/reset").raise_for_status()
    with demo_process(tmp_path, port):
        fresh = httpx.post(f"{url}/admin/scale", json={"replicas": 7}, headers=key)
        assert "idempotent-replayed" not in fresh.headers, "reset forgets keys durably too"
        assert httpx.get(f"{url}/admin/actions").json()[0]["idempotency_key"] == "incident-1:1"
