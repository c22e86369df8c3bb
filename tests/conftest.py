"""Shared fixtures: a real Temporal dev server, the demo target, an isolated Steward.

Nothing starts unless a test asks for it: ``temporal_env`` (the dev server, once per session),
``demo_url``/``demo`` (the demo target, once per session), ``worker`` (both, plus an in-process
worker on the test's own task queue), ``api_url`` (the API on a real socket). ``settings`` and
``engine`` alone give an isolated home and SQLite database and start no server.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.db import get_engine, reset_engine
from api.core.settings import Settings, get_settings
from api.main import create_app
from api.services.keys import create_api_key
from bench.harness.servers import serve_app
from tests.support.environment import SIGNING_KEY, binary
from tests.workflows.helpers import running_worker
from tests.workflows.playbooks import TEST_PLAYBOOKS
from workers.demo_target.app import create_app as create_demo_app

pytest_plugins = ["tests.support.db", "tests.support.plugins"]


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


def closed_address() -> str:
    """Return a loopback ``host:port`` that nothing listens on (a port just bound and freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture
def steward_env(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """Environment variables that point a Steward process at this test's world.

    Temporal and the demo target start only for a test that asks for them (``temporal_env``,
    ``worker``, ``demo_url`` or ``demo``, directly or through another fixture). Otherwise their
    addresses name a closed loopback port: a test that needs them and did not ask fails at
    once, and never reaches a developer's own stack. A test that asks for ``prometheus_url``
    gets it as ``STEWARD_PROMETHEUS_URL``; the ``steward_env`` marker adds settings of its own,
    e.g. ``@pytest.mark.steward_env(STEWARD_INCIDENT_WINDOW_SECONDS="60")``.
    """
    wanted = set(request.fixturenames)
    if "temporal_env" in wanted:
        temporal: WorkflowEnvironment = request.getfixturevalue("temporal_env")
        temporal_address = temporal.client.service_client.config.target_host
    else:
        temporal_address = closed_address()
    demo_url = request.getfixturevalue("demo_url") if "demo_url" in wanted else ""
    env = {
        "STEWARD_HOME": str(tmp_path / "home"),
        "STEWARD_DATABASE_URL": f"sqlite:///{tmp_path / 'steward.db'}",
        "STEWARD_SIGNING_KEY": SIGNING_KEY,
        "STEWARD_TARGETS": json.dumps({"demo": demo_url or f"http://{closed_address()}"}),
        "STEWARD_TASK_QUEUE": f"tq-{uuid.uuid4().hex[:12]}",
        "STEWARD_TEMPORAL_ADDRESS": temporal_address,
    }
    if "prometheus_url" in wanted:
        env["STEWARD_PROMETHEUS_URL"] = request.getfixturevalue("prometheus_url")
    marker = request.node.get_closest_marker("steward_env")
    if marker is not None:
        env.update(marker.kwargs)
    return env


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
    """An in-process Steward worker on this test's task queue, with the test playbooks."""
    async with running_worker(
        temporal_env.client, settings, engine, extra_workflows=TEST_PLAYBOOKS
    ) as w:
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


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for activities and sources under test."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client
