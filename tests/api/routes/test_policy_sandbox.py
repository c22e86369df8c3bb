"""The API's side of issue 13 item 2: hostile what-ifs and reloads, size limits, the quota.

The API (uvicorn in a thread) and the worker run in this test process, so its resident
memory is theirs: a hostile bundle must leave it where it was.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.db import make_engine
from api.core.settings import Settings, get_settings
from api.models import Step
from api.services.simulation_quota import take_simulation
from tests.activities.policy import POLICIES
from tests.activities.policy.hostile import (
    HUGE_ON_PURGE,
    HUGE_SET,
    make_data_check_hostile,
    rss_mib,
)
from tests.api.services.audit.helpers import run_playbook
from tests.api.services.audit.policies import scaling_denied

GATE = "steward/gate/gate.rego"
MEMORY_ERROR = (
    "policy evaluation exceeded 256 MiB of memory and was stopped "
    "(STEWARD_POLICY_SANDBOX_MEMORY_MIB)"
)
RSS_SLACK_MIB = 40


def use(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Set ``STEWARD_<NAME>`` variables and make get_settings() read them."""
    for name, value in values.items():
        monkeypatch.setenv(f"STEWARD_{name.upper()}", value)
    get_settings.cache_clear()


@pytest.mark.asyncio(loop_scope="session")
async def test_a_hostile_what_if_is_refused_and_the_process_does_not_grow(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    demo: httpx.Client,
    api_url: str,
    api_keys: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The memory limit, not a busy machine's clock, must be what stops the reproducer.
    use(monkeypatch, policy_sandbox_memory_mib="256", policy_sandbox_seconds="50")
    incident, outcome = await run_playbook(temporal_env.client, settings, "high_latency")
    assert outcome.status == "resolved"
    url = f"/api/v1/incidents/{incident}/simulations"
    denying = {
        p.relative_to(tmp_path / "deny").as_posix(): p.read_text()
        for p in scaling_denied(tmp_path / "deny").rglob("*.rego")
    }
    async with httpx.AsyncClient(base_url=api_url, timeout=120) as api:
        headers = {"X-API-Key": api_keys["auditor"]}
        warm = await api.post(url, json={"policies": denying}, headers=headers)
        assert warm.status_code == 200, warm.text
        before = rss_mib()
        hostile = await api.post(
            url, json={"policies": {GATE: HUGE_SET}, "playbook": "high_latency"}, headers=headers
        )
        after = rss_mib()
        oversize = await api.post(
            url, json={"policies": {GATE: HUGE_SET, "x.rego": "#" * 300_000}}, headers=headers
        )
        again = await api.post(url, json={"policies": denying}, headers=headers)
    assert hostile.status_code == 422 and hostile.json()["detail"] == MEMORY_ERROR
    assert after - before < RSS_SLACK_MIB, (before, after)
    assert oversize.status_code == 413
    assert oversize.json()["detail"] == (
        "x.rego is 300000 bytes, more than the module limit of 256000 bytes "
        "(STEWARD_POLICY_MODULE_MAX_BYTES)"
    )
    assert again.status_code == 200 and again.json()["decisions"][0]["simulated"] == "deny"


@pytest.mark.asyncio(loop_scope="session")
async def test_a_replanned_step_over_the_limit_is_denied_and_the_what_if_refused(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    api_url: str,
    api_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The recorded scale decides cheaply; the re-planned error_burst's purge does not."""
    use(monkeypatch, policy_sandbox_memory_mib="256", policy_sandbox_seconds="50")
    incident, outcome = await run_playbook(temporal_env.client, settings, "high_latency")
    assert outcome.status == "resolved"
    async with httpx.AsyncClient(base_url=api_url, timeout=120) as api:
        found = await api.post(
            f"/api/v1/incidents/{incident}/simulations",
            json={"policies": {GATE: HUGE_ON_PURGE}, "playbook": "error_burst"},
            headers={"X-API-Key": api_keys["auditor"]},
        )
    assert found.status_code == 422 and found.json()["detail"] == MEMORY_ERROR
    # The plan run's gate denied the purge with the limit as its reason (a recorded step).
    with Session(engine) as session:
        denied = session.exec(
            select(Step).where(Step.name == "demo.purge_cache", Step.status == "denied")
        ).all()
    assert [(s.incident_id.startswith(f"{incident}-sim-"), s.error) for s in denied] == [
        (True, MEMORY_ERROR)
    ]


@pytest.mark.asyncio(loop_scope="session")
async def test_the_simulation_quota_is_per_key(
    worker: Worker,
    api_url: str,
    api_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use(monkeypatch, simulation_quota="2", simulation_quota_seconds="3600")
    what_if = {"policies": {"a.rego": "package a"}}
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as api:
        auditor = {"X-API-Key": api_keys["auditor"]}
        # Unknown incidents: each attempt still starts (and counts as) a simulation request.
        first = [
            await api.post(f"/api/v1/incidents/nope-{i}/simulations", json=what_if, headers=auditor)
            for i in range(2)
        ]
        over = await api.post("/api/v1/incidents/nope/simulations", json=what_if, headers=auditor)
        other = await api.post(
            "/api/v1/incidents/nope/simulations",
            json=what_if,
            headers={"X-API-Key": api_keys["operator"]},
        )
        simulate_mode = {
            "service": "demo",
            "signal": "high_latency",
            "severity": "high",
            "playbook": "high_latency",
            "mode": "simulate",
        }
        operator = {"X-API-Key": api_keys["operator"]}
        planned = await api.post("/api/v1/incidents", json=simulate_mode, headers=operator)
        operator_over = await api.post("/api/v1/incidents", json=simulate_mode, headers=operator)
    assert [r.status_code for r in first] == [404, 404]
    assert over.status_code == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 3600
    assert "simulation quota exceeded" in over.json()["detail"]
    assert "STEWARD_SIMULATION_QUOTA" in over.json()["detail"]
    assert other.status_code == 404  # another key still has its quota
    assert planned.status_code == 201, planned.text
    assert operator_over.status_code == 429  # the operator's third simulation of two


# One API process's share of the quota test: four takes on an engine of its own.
TAKE_FOUR = """
import sys
from api.core.db import make_engine
from api.services.simulation_quota import take_simulation
from api.models import Step
engine = make_engine(sys.argv[1])
print(" ".join(str(take_simulation(engine, "key1", 5, 3600, now=7200.5).admitted)
               for _ in range(4)))
"""


def test_the_quota_holds_across_processes_sharing_the_database(db_url: str) -> None:
    """Three processes take twelve simulations of one key at once: exactly five start."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", TAKE_FOUR, db_url], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120)[0].split() for process in processes]
    assert all(process.returncode == 0 for process in processes)
    admitted = [answer for output in outputs for answer in output]
    assert sorted(admitted) == ["False"] * 7 + ["True"] * 5
    engine = make_engine(db_url)
    try:
        other = take_simulation(engine, "key2", 5, 3600, now=7200.5)
        assert other.admitted and other.started == 1
        refused = take_simulation(engine, "key1", 5, 3600, now=7300.0)
        assert not refused.admitted and refused.retry_after == pytest.approx(3500.0)
        next_window = take_simulation(engine, "key1", 5, 3600, now=10800.0)
        assert next_window.admitted and next_window.started == 1
    finally:
        engine.dispose()


def test_a_hostile_reload_is_refused_and_the_running_policy_stays(
    api_url: str,
    api_keys: dict[str, str],
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    use(monkeypatch, policy_dir=str(root), policy_sandbox_memory_mib="256")
    with httpx.Client(
        base_url=api_url, headers={"X-API-Key": api_keys["admin"]}, timeout=120
    ) as admin:
        good = admin.post("/api/v1/policy/reload", json={"reason": "baseline"})
        assert good.status_code == 200, good.text
        make_data_check_hostile(root)
        before = rss_mib()
        hostile = admin.post("/api/v1/policy/reload", json={"reason": "hostile"})
        after = rss_mib()
        (root / "steward/gate/padding.rego").write_text("#" * 300_000)
        oversize = admin.post("/api/v1/policy/reload", json={"reason": "oversize"})
        state = admin.get("/api/v1/policy").json()
    assert hostile.status_code == 422
    assert hostile.json()["detail"]["problems"] == [
        "policy check exceeded 256 MiB of memory and was stopped "
        "(STEWARD_POLICY_SANDBOX_MEMORY_MIB) [sandbox]"
    ]
    assert "running bundle stays active" in hostile.json()["detail"]["message"]
    assert after - before < RSS_SLACK_MIB, (before, after)
    assert oversize.status_code == 422
    assert oversize.json()["detail"]["problems"] == [
        "steward/gate/padding.rego is 300000 bytes, more than the module limit of 256000 "
        "bytes (STEWARD_POLICY_MODULE_MAX_BYTES) [limits]"
    ]
    # Workers reload at a newer accepted reload only: the running bundle stays the good one.
    assert state["reload_generation"] == good.json()["change_id"]
    assert [c["kind"] for c in state["changes"]][:3] == [
        "reload_refused",
        "reload_refused",
        "reload",
    ]
