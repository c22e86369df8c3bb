"""``/healthz`` names the component that is down: Temporal, or the workers of the task queue."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from temporalio.worker import Worker

from api.core.settings import Settings, get_settings
from api.main import create_app
from bench.harness.servers import free_port, serve_app

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.usefixtures("temporal_env")
async def test_no_worker_polling_is_degraded(api_url: str, settings: Settings) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as api:
        health = await api.get("/healthz")
    assert health.status_code == 200, "the API still serves"
    assert health.json() == {
        "status": "degraded",
        "database": "ok",
        "temporal": "ok",
        "workers": f"error: none polling {settings.task_queue}",
    }


async def test_a_polling_worker_is_healthy(api_url: str, worker: Worker) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as api:
        # A worker that just started registers its first poll a moment later (a busy machine
        # takes longer): wait for it, within a bound.
        for _ in range(50):
            health = (await api.get("/healthz")).json()
            if health["workers"] != f"error: none polling {get_settings().task_queue}":
                break
            await asyncio.sleep(0.2)
    assert health == {"status": "ok", "database": "ok", "temporal": "ok", "workers": "1 polling"}


async def test_temporal_down_is_degraded_and_named(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEWARD_TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    with serve_app(create_app()) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as api:
            health = await api.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert (body["status"], body["database"]) == ("degraded", "ok")
    assert body["temporal"].startswith("error: Temporal is unreachable at 127.0.0.1:")
    assert body["workers"] == "unknown: Temporal is unreachable"
