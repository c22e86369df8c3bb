"""Fixtures of the PostgreSQL pack's tests: the machine's real server and sessions on it.

Steward's own fixtures (an isolated home, the Temporal dev server, an in-process worker) are
re-exported from ``tests.conftest``. The server comes from ``STEWARD_TEST_POSTGRES_URL``; when
it is unreachable a test skips, and fails under ``CI=true``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import psycopg
import pytest
import pytest_asyncio
from steward_postgres.targets import TARGETS_ENV, libpq_dsn

from activities.actuators.registry import ActuatorContext
from api.core.settings import Settings
from tests.conftest import engine, settings, steward_env, temporal_env, worker  # noqa: F401

TARGET = "testdb"


@pytest.fixture
def pg_dsn(monkeypatch: pytest.MonkeyPatch) -> str:
    """The test server's libpq DSN, also configured as target ``testdb``."""
    # Imported here: tests.conftest registers tests.support.db as a plugin, and a module-level
    # import here would load it first, before pytest can rewrite its asserts.
    from tests.support.db import require_postgres

    dsn = libpq_dsn(require_postgres())
    monkeypatch.setenv(TARGETS_ENV, json.dumps({TARGET: dsn}))
    return dsn


@pytest_asyncio.fixture(loop_scope="session")
async def ctx(settings: Settings) -> AsyncIterator[ActuatorContext]:  # noqa: F811
    """A real actuator context, as the worker builds it."""
    async with httpx.AsyncClient(timeout=10) as http:
        yield ActuatorContext(http, settings, "inc-test:1")


@dataclass
class Sleeper:
    """A background session running ``SELECT pg_sleep(600)`` under its own application name."""

    pid: int
    application_name: str
    conn: psycopg.AsyncConnection[tuple[object, ...]]
    query: asyncio.Task[object]

    async def outcome(self, timeout: float = 10) -> BaseException | None:
        """Wait for the query to end; return the error it ended with (None if it returned)."""
        try:
            await asyncio.wait_for(asyncio.shield(self.query), timeout)
        except psycopg.Error as exc:
            return exc
        return None


async def _wait_active(dsn: str, pid: int) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as admin:
        for _ in range(200):
            cursor = await admin.execute(
                "SELECT state = 'active' FROM pg_stat_activity WHERE pid = %s", (pid,)
            )
            row = await cursor.fetchone()
            if row is not None and row[0]:
                return
            await asyncio.sleep(0.02)
    raise TimeoutError(f"backend {pid} never became active")


@pytest_asyncio.fixture(loop_scope="session")
async def sleepers(pg_dsn: str) -> AsyncIterator[Callable[..., Awaitable[Sleeper]]]:
    """Start sleeping sessions on demand; whatever is still alive is terminated afterwards."""
    started: list[Sleeper] = []

    async def start(application_name: str | None = None) -> Sleeper:
        name = application_name or f"steward-test-{uuid.uuid4().hex[:10]}"
        conn = await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True, application_name=name)
        pid = conn.info.backend_pid
        query = asyncio.ensure_future(conn.execute("SELECT pg_sleep(600)"))
        sleeper = Sleeper(pid, name, conn, query)
        started.append(sleeper)
        await _wait_active(pg_dsn, pid)
        return sleeper

    yield start
    async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as admin:
        for sleeper in started:
            await admin.execute("SELECT pg_terminate_backend(%s)", (sleeper.pid,))
    for sleeper in started:
        with contextlib.suppress(psycopg.Error, asyncio.TimeoutError):
            await asyncio.wait_for(sleeper.query, 10)
        await sleeper.conn.close()


Start = Callable[..., Awaitable[Sleeper]]
