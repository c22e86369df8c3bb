"""Where a target database's DSN comes from: the ``STEWARD_PG_TARGETS`` setting.

``STEWARD_PG_TARGETS`` is a JSON object mapping a target name to a libpq DSN or URL, read from
the worker's environment at each call, for example::

    STEWARD_PG_TARGETS='{"orders": "postgresql://steward@db1:5432/orders"}'

Actions and checks name a target, never a DSN, so credentials stay in the worker's environment
and out of playbook parameters, policy input and workflow history.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import psycopg

from activities.actuators.registry import InvalidParametersError

TARGETS_ENV = "STEWARD_PG_TARGETS"
# Target names are policy input and appear in history: keep them plain.
TARGET_PATTERN = r"^[A-Za-z0-9_.-]{1,100}$"
APPLICATION_NAME = "steward-postgres"
CONNECT_TIMEOUT_SECONDS = 5


class TargetsSettingError(RuntimeError):
    """``STEWARD_PG_TARGETS`` is set but is not a JSON object of strings."""


def target_dsns(*, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the configured targets (name -> DSN); empty when the setting is unset.

    Raises:
        TargetsSettingError: The setting is not a JSON object whose values are strings.
    """
    raw = (os.environ if environ is None else environ).get(TARGETS_ENV, "").strip()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TargetsSettingError(f"{TARGETS_ENV} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in parsed.items()
    ):
        raise TargetsSettingError(f"{TARGETS_ENV} must be a JSON object of name -> DSN strings")
    return parsed


def libpq_dsn(dsn: str) -> str:
    """Accept SQLAlchemy-style URLs too (``postgresql+psycopg://``) by dropping the driver."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres+psycopg://"):
        if dsn.startswith(prefix):
            return "postgresql://" + dsn[len(prefix) :]
    return dsn


def dsn_for(*, target: str, environ: Mapping[str, str] | None = None) -> str:
    """Return the DSN of ``target``.

    Raises:
        InvalidParametersError: No such target (no retry can fix it).
    """
    targets = target_dsns(environ=environ)
    if target not in targets:
        known = ", ".join(sorted(targets)) or f"none ({TARGETS_ENV} is empty)"
        raise InvalidParametersError(f"unknown PostgreSQL target {target!r}; known: {known}")
    return libpq_dsn(targets[target])


async def connect(*, target: str, autocommit: bool) -> psycopg.AsyncConnection[tuple[object, ...]]:
    """Open a connection to ``target``, named ``steward-postgres`` in ``pg_stat_activity``."""
    return await psycopg.AsyncConnection.connect(
        dsn_for(target=target),
        autocommit=autocommit,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        application_name=APPLICATION_NAME,
    )
