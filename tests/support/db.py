"""Real, isolated test databases on SQLite and PostgreSQL, plus small row factories.

The root conftest loads this module as a plugin (``pytest_plugins``), so every test may ask for
``db_url``, ``empty_db_url`` and ``db_engine`` (an engine on ``db_url``) by name.

``db_url`` runs each test twice, on a fresh SQLite file and on a fresh PostgreSQL schema, both
already migrated to head. The PostgreSQL server comes from ``STEWARD_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). When it is unreachable a test skips, except
under ``CI=true``, where it fails: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, make_url, text

from api.core.db import make_engine, migrate, normalize_url
from api.models import Approval, Incident, Step, utcnow

POSTGRES_URL_ENV = "STEWARD_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgres")


def running_in_ci() -> bool:
    """Return whether ``CI=true`` is set, where missing components fail instead of skipping."""
    return os.environ.get("CI", "").strip().lower() == "true"


def missing_component(reason: str) -> None:
    """Fail the current test under CI, skip it elsewhere; ``reason`` says what is missing."""
    if running_in_ci():
        pytest.fail(f"{reason} (CI=true: missing components fail instead of skipping)")
    pytest.skip(reason)


def postgres_server_url() -> str:
    """Return the URL of the PostgreSQL database tests create their schemas in."""
    return normalize_url(os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL)


@cache
def _postgres_unavailable_reason(url: str) -> str | None:
    # Probed once per URL and process, so an absent server costs one timeout, not one per test.
    probe = make_engine(url, connect_args={"connect_timeout": 3})
    try:
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "not usable here"
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return f"PostgreSQL not reachable at {make_url(url).render_as_string()}: {first_line}"
    finally:
        probe.dispose()
    return None


def require_postgres() -> str:
    """Return the server URL, or skip/fail the test (see ``missing_component``) when it is down."""
    url = postgres_server_url()
    reason = _postgres_unavailable_reason(url)
    if reason is not None:
        missing_component(f"{reason}; set {POSTGRES_URL_ENV} to point at a server")
    return url


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """Create a schema with a random name and yield a URL whose connections use only it.

    The schema is dropped (with everything in it) afterwards, so parallel and repeated runs
    never see each other's tables.
    """
    server_url = require_postgres()
    schema = f"steward_test_{secrets.token_hex(6)}"
    admin = make_engine(server_url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        # Putting search_path in the URL (libpq "options") rather than in one engine's
        # connect_args means every engine built from this URL, in any process, is scoped too.
        scoped = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            # A forgotten open transaction elsewhere must not hang the whole test run.
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def sqlite_url(folder: Path) -> str:
    """Return the URL of a new SQLite database file inside ``folder``."""
    return f"sqlite:///{(folder / 'steward-test.db').resolve()}"


@contextmanager
def empty_database_url(backend: str, folder: Path) -> Iterator[str]:
    """Yield the URL of a fresh, unmigrated database on ``backend`` ("sqlite" or "postgres")."""
    if backend == "sqlite":
        yield sqlite_url(folder)
    elif backend == "postgres":
        with postgres_schema_url() as url:
            yield url
    else:
        raise ValueError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")


_BACKEND_PARAMS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=_BACKEND_PARAMS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh database with no tables, once per backend."""
    with empty_database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=_BACKEND_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh database migrated to head, once per backend."""
    with empty_database_url(request.param, tmp_path) as url:
        migrate(url)
        yield url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[Engine]:
    """Engine on ``db_url``; disposed before the database is dropped."""
    built = make_engine(db_url)
    try:
        yield built
    finally:
        built.dispose()


def new_incident(**overrides: Any) -> Incident:
    """Return an unsaved open incident with plausible values; keyword arguments override."""
    values: dict[str, Any] = {
        "id": f"demo.error_burst.{secrets.token_hex(4)}",
        "service": "demo",
        "signal": "error_burst",
        "severity": "warning",
        "playbook": "error_burst",
        "mode": "apply",
        "status": "open",
        "opened_by": "detector:error_burst",
        "window_start": utcnow().replace(microsecond=0),
    }
    values.update(overrides)
    return Incident(**values)


def new_step(incident: Incident, step: int = 1, kind: str = "act", **overrides: Any) -> Step:
    """Return an unsaved step of ``incident``; keyword arguments override."""
    values: dict[str, Any] = {
        "incident_id": incident.id,
        "step": step,
        "kind": kind,
        "name": "restart_service",
        "params": {"service": incident.service},
        "tier": "warn",
        "status": "pending",
    }
    values.update(overrides)
    return Step(**values)


def new_approval(incident: Incident, step: int = 1, **overrides: Any) -> Approval:
    """Return an unsaved pending approval of ``step`` of ``incident``; keywords override."""
    requested_at = utcnow()
    values: dict[str, Any] = {
        "id": Approval.make_id(incident.id, step),
        "incident_id": incident.id,
        "step": step,
        "actuator": "restart_service",
        "params": {"service": incident.service},
        "tier": "critical",
        "reasons": ["critical tier needs approval"],
        "quorum": 1,
        "roles": ["operator"],
        "status": "pending",
        "requested_at": requested_at,
        "expires_at": requested_at + timedelta(minutes=30),
    }
    values.update(overrides)
    return Approval(**values)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database of this test only, for tests that need one backend."""
    url = sqlite_url(tmp_path)
    migrate(url)
    built = make_engine(url)
    yield built
    built.dispose()
