"""What-if simulations: recorded gate inputs under another bundle, a re-planned playbook."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings
from api.services.audit.simulate import read_policy_dir
from tests.api.services.audit.helpers import cli, ledger, run_playbook
from tests.api.services.audit.policies import restart_denied, scaling_denied, warn_needs_approval

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_what_if_over_cli_and_api(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    api_url: str,
    api_keys: dict[str, str],
    tmp_path: Path,
) -> None:
    demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
    incident, outcome = await run_playbook(temporal_env.client, settings, "high_latency")
    assert outcome.status == "resolved"
    replicas = demo.get("/admin/state").json()["replicas"]

    denied = await cli("simulate", incident, "--policies", str(scaling_denied(tmp_path / "deny")))
    assert denied.exit_code == 0, denied.output
    assert "allowed -> denied  (no scaling)" in denied.stdout
    assert "1 of 1 recorded decision(s) change" in denied.stdout

    files = read_policy_dir(warn_needs_approval(tmp_path / "warn"))
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as api:
        headers = {"X-API-Key": api_keys["auditor"]}
        url = f"/api/v1/incidents/{incident}/simulations"
        same_playbook = await api.post(
            url, json={"policies": files, "playbook": "high_latency"}, headers=headers
        )
        other_playbook = await api.post(
            url, json={"policies": files, "playbook": "error_burst"}, headers=headers
        )
        broken = await api.post(url, json={"policies": {"gate.rego": "package"}}, headers=headers)
        escaping = await api.post(url, json={"policies": {"../x.rego": "x"}}, headers=headers)
    assert same_playbook.status_code == 200, same_playbook.text
    result = same_playbook.json()
    (decision,) = result["decisions"]
    assert (decision["actuator"], decision["recorded"], decision["simulated"]) == (
        "demo.scale",
        "allow",
        "approval_required",
    )
    assert decision["change"] == "approval now needed"
    assert decision["rules"] == ["test_warn_approval"]
    assert [(p["actuator"], p["simulated"]) for p in result["plan"]] == [
        ("demo.scale", "approval_required")
    ]
    assert result["action_changes"] == [] and "same actions" in result["diff"]
    assert len(result["recorded_bundles"]) == 1 and len(result["bundle_sha256"]) == 64

    changed = other_playbook.json()["action_changes"]
    assert changed[0].startswith("- demo.scale")
    assert [line.split()[1] for line in changed[1:]] == ["demo.restart", "demo.purge_cache"]
    assert broken.status_code == 422 and "does not compile" in broken.json()["detail"]
    assert escaping.status_code == 422 and "relative paths" in escaping.json()["detail"]

    # Nothing applied, every simulation recorded in the incident's chain, which stays intact.
    assert demo.get("/admin/state").json()["replicas"] == replicas
    simulations = [e for e in ledger(engine, incident) if e["kind"] == "simulation"]
    assert len(simulations) == 3
    assert (await cli("audit", "verify", "--incident", incident)).exit_code == 0
    missing = await cli("simulate", incident, "--policies", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "not a policy directory" in missing.output


async def test_replanned_playbook_follows_the_what_if_bundle(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    api_url: str,
    api_keys: dict[str, str],
    tmp_path: Path,
) -> None:
    """Under a bundle that denies restarts, the re-planned error_burst stops at its restart."""
    demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
    incident, outcome = await run_playbook(temporal_env.client, settings, "high_latency")
    assert outcome.status == "resolved"
    files = read_policy_dir(restart_denied(tmp_path / "no-restart"))
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as api:
        found = await api.post(
            f"/api/v1/incidents/{incident}/simulations",
            json={"policies": files, "playbook": "error_burst"},
            headers={"X-API-Key": api_keys["auditor"]},
        )
    assert found.status_code == 200, found.text
    plan = found.json()["plan"]
    # The running policy would have planned restart and purge_cache; the what-if one denies
    # the restart, so the playbook stopped there and never planned the purge.
    assert [(p["actuator"], p["simulated"]) for p in plan] == [("demo.restart", "deny")]
