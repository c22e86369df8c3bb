"""Replay: compatible histories, a changed playbook's non-determinism, unknown types, CI gate."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import names
from api.core.settings import Settings
from api.services.audit.replay import replay_one
from tests.api.services.audit.helpers import cli, run_playbook
from tests.api.services.audit.playbooks import VerifyFirst

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_replay_is_a_ci_gate(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    tmp_path: Path,
) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
    incident, outcome = await run_playbook(temporal_env.client, settings, "high_latency")
    assert outcome.status == "resolved"

    by_id = await cli("audit", "replay", incident)
    assert by_id.exit_code == 0, by_id.output
    assert f"compatible    {incident} (high_latency)" in by_id.stdout
    pack = tmp_path / "pack.zip"
    assert (await cli("audit", "export", incident, "-o", str(pack))).exit_code == 0
    from_pack = await cli("audit", "replay", str(pack))
    assert from_pack.exit_code == 0 and "1 compatible, 0 incompatible" in from_pack.stdout
    every = await cli("audit", "replay", "--all", "--since", since)
    assert every.exit_code == 0, every.output
    assert incident in every.stdout

    history = await temporal_env.client.get_workflow_handle(incident).fetch_history()
    changed = await replay_one(history, {"high_latency": VerifyFirst})
    assert not changed.compatible
    assert changed.error is not None and "nondetermin" in changed.error.lower()
    # The changed code asks for the verify where history has the scale's gate (event 10).
    assert changed.first_mismatch is not None
    assert f"MARKER_RECORDED (local activity {names.POLICY_GATE})" in changed.first_mismatch

    # A history of a workflow type this build does not register (a test-only playbook).
    other, _ = await run_playbook(temporal_env.client, settings, "test_unknown_actuator")
    unknown = await cli("audit", "replay", other)
    assert unknown.exit_code == 1
    assert "unknown workflow type 'test_unknown_actuator'" in unknown.stdout
    assert (await cli("audit", "replay")).exit_code == 2


async def test_a_real_process_exits_cleanly_with_its_code(
    temporal_env: WorkflowEnvironment, steward_env: dict[str, str], tmp_path: Path
) -> None:
    # A short-lived process that used a Temporal client must not abort at exit (sdk-python 300).
    env = {**os.environ, **steward_env}
    steward = str(Path(sys.executable).parent / "steward")
    for _ in range(2):
        done = await asyncio.to_thread(
            subprocess.run,
            [steward, "audit", "replay", "inc-never-ran"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == (
            "error: no history for inc-never-ran: workflow not found for ID: inc-never-ran"
        )
