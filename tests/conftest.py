"""Shared fixtures: a real Temporal dev server, the demo target, an isolated Steward."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.policy.engine import EmbeddedPolicyEngine
from api.core.db import get_engine, reset_engine
from api.core.settings import Settings, get_settings
from api.main import create_app
from api.services.keys import create_api_key
from bench.harness.servers import serve_app
from tests.workflows.playbooks import TEST_PLAYBOOKS
from workers.demo_target.app import create_app as create_demo_app
from workers.worker import build_worker

pytest_plugins = ["tests.support.db"]

SIGNING_KEY = "test-signing-key-0123456789abcdef"


def binary(name: str) -> str:
    """Return the path of a binary installed with the venv (never downloaded)."""
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.fail(f"the {name!r} binary is missing: run 'make test' to install dev extras")
    return found


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (in memory) for the whole session."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        dev_server_log_level="error",
        ui=False,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def demo_url() -> Iterator[str]:
    """The demo target, served on a real socket for the whole session."""
    with serve_app(create_demo_app()) as url:
        yield url


@pytest.fixture
def demo(demo_url: str) -> Iterator[httpx.Client]:
    """An HTTP client on the demo target, reset to its defaults for each test."""
    with httpx.Client(base_url=demo_url, timeout=10) as client:
        client.post("/admin/reset").raise_for_status()
        yield client


@pytest.fixture
def steward_env(tmp_path: Path, demo_url: str, temporal_env: WorkflowEnvironment) -> dict[str, str]:
    """Environment variables that point a Steward process at this test's world."""
    target = temporal_env.client.service_client.config.target_host
    return {
        "STEWARD_HOME": str(tmp_path / "home"),
        "STEWARD_DATABASE_URL": f"sqlite:///{tmp_path / 'steward.db'}",
        "STEWARD_SIGNING_KEY": SIGNING_KEY,
        "STEWARD_TARGETS": f'{{"demo": "{demo_url}"}}',
        "STEWARD_TASK_QUEUE": f"tq-{uuid.uuid4().hex[:12]}",
        "STEWARD_TEMPORAL_ADDRESS": target,
    }


@pytest.fixture
def settings(steward_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for this test, also visible to code that calls ``get_settings()``."""
    for name, value in steward_env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    reset_engine()
    yield get_settings()
    reset_engine()
    get_settings.cache_clear()


@pytest.fixture
def engine(settings: Settings) -> Engine:
    """The migrated app database of this test."""
    return get_engine()


@pytest_asyncio.fixture(loop_scope="session")
async def worker(
    temporal_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> AsyncIterator[Worker]:
    """An in-process Steward worker on this test's task queue."""
    async with httpx.AsyncClient(timeout=10) as http:
        w = build_worker(
            temporal_env.client,
            settings,
            engine,
            http,
            EmbeddedPolicyEngine(),
            extra_workflows=TEST_PLAYBOOKS,
        )
        async with w:
            yield w


@pytest.fixture
def api_url(settings: Settings) -> Iterator[str]:
    """The Steward API on a real socket, using this test's settings."""
    with serve_app(create_app()) as url:
        yield url


@pytest.fixture
def api_keys(engine: Engine) -> dict[str, str]:
    """One API key per role (plus a second operator), by role name."""
    from sqlmodel import Session

    keys: dict[str, str] = {}
    with Session(engine) as session:
        for name, roles in {
            "operator": ["operator"],
            "operator2": ["operator"],
            "engineer": ["engineer"],
            "auditor": ["auditor"],
            "admin": ["admin"],
        }.items():
            _, token = create_api_key(session, f"{name}-user", roles)
            keys[name] = token
        session.commit()
    return keys
