"""``pg.cancel_backend`` and ``pg.terminate_backend``: end sessions picked by a strict selection.

A selection names a target database and narrows its client sessions by state, how long they
have been in that state, application name and user, with a maximum count. The actuator's own
connection, other databases on the same server and non-client backends (autovacuum, WAL
senders, ...) are never selected. Selection and signalling happen in one statement, so the
sessions signalled are exactly the ones reported. Ending a query or session cannot be undone:
both actuators are irreversible.
"""

from __future__ import annotations

from typing import Any, Literal

from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict, Field, model_validator
from steward_postgres.targets import TARGET_PATTERN, connect

from activities.actuators.registry import Actuator, ActuatorContext, actuator

# The states pg_stat_activity reports for client backends.
SessionState = Literal[
    "active",
    "idle",
    "idle in transaction",
    "idle in transaction (aborted)",
    "fastpath function call",
    "disabled",
]
MAX_COUNT_CAP = 50
# PostgreSQL truncates names to NAMEDATALEN - 1 = 63 bytes.
NAME_PATTERN = r"^[A-Za-z0-9_.:@ -]{1,63}$"

# Seconds a session has spent in its current query (active) or in its current state (others).
_SELECT = """
WITH sessions AS (
    SELECT pid, usename::text AS usename, application_name, state,
           extract(epoch FROM now() - CASE WHEN state = 'active' THEN query_start
                                           ELSE state_change END)::float8 AS seconds
      FROM pg_stat_activity
     WHERE backend_type = 'client backend'
       AND pid <> pg_backend_pid()
       AND datname = current_database()
)
SELECT pid, usename, application_name, state, round(seconds::numeric, 3)::float8 AS seconds
  FROM sessions
 WHERE (%(state)s::text IS NULL OR state = %(state)s::text)
   AND (%(application_name)s::text IS NULL OR application_name = %(application_name)s::text)
   AND (%(usename)s::text IS NULL OR usename = %(usename)s::text)
   AND (%(min_seconds)s::float8 IS NULL OR seconds >= %(min_seconds)s::float8)
 ORDER BY seconds DESC NULLS LAST, pid
 LIMIT %(max_count)s
"""
# The function names are constants chosen by the actuator class, never taken from parameters.
_SIGNAL = {
    "cancel": "SELECT s.*, pg_cancel_backend(s.pid) AS signalled FROM ({select}) AS s",
    "terminate": "SELECT s.*, pg_terminate_backend(s.pid) AS signalled FROM ({select}) AS s",
}


class SessionSelection(BaseModel):
    """Which sessions of a target database to act on.

    At least one of ``min_duration_seconds``, ``application_name`` or ``usename`` is required,
    so a selection can never mean "every session in this state".
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    target: str = Field(pattern=TARGET_PATTERN, description="A name in STEWARD_PG_TARGETS")
    state: SessionState | None = Field(
        default="active", description="Session state to match; null matches any state"
    )
    min_duration_seconds: float | None = Field(
        default=None, ge=0, le=7 * 24 * 3600, description="Seconds in the current query/state"
    )
    application_name: str | None = Field(default=None, pattern=NAME_PATTERN)
    usename: str | None = Field(default=None, pattern=NAME_PATTERN)
    max_count: int = Field(
        default=1, ge=1, le=MAX_COUNT_CAP, description="Most sessions one call may end"
    )

    @model_validator(mode="after")
    def _narrowed(self) -> SessionSelection:
        if self.min_duration_seconds is None and not self.application_name and not self.usename:
            raise ValueError(
                "give at least one of min_duration_seconds, application_name or usename"
            )
        return self

    def query_params(self) -> dict[str, Any]:
        """The selection as the SQL's named parameters."""
        return {
            "state": self.state,
            "application_name": self.application_name,
            "usename": self.usename,
            "min_seconds": self.min_duration_seconds,
            "max_count": self.max_count,
        }


async def matching_sessions(*, selection: SessionSelection) -> list[dict[str, Any]]:
    """Return the sessions ``selection`` matches now (longest first), without touching them."""
    async with await connect(target=selection.target, autocommit=True) as conn:
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(_SELECT, selection.query_params())
        return list(await cursor.fetchall())


async def signal_sessions(
    *, selection: SessionSelection, how: Literal["cancel", "terminate"]
) -> list[dict[str, Any]]:
    """Select and signal in one statement; return each session with ``signalled`` true/false."""
    async with await connect(target=selection.target, autocommit=True) as conn:
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(_SIGNAL[how].format(select=_SELECT), selection.query_params())
        return list(await cursor.fetchall())


class _SessionActuator(Actuator[SessionSelection]):
    """Shared snapshot/apply of the two session actuators."""

    how: Literal["cancel", "terminate"]
    done_key: str

    def target(self, settings: Any, p: SessionSelection) -> str:
        """The target database's name (what policy sees)."""
        return p.target

    async def snapshot(self, ctx: ActuatorContext, p: SessionSelection) -> dict[str, Any]:
        """Record the sessions the selection matches before anything is signalled."""
        return {"sessions": await matching_sessions(selection=p)}

    async def apply(self, ctx: ActuatorContext, p: SessionSelection) -> dict[str, Any]:
        """Signal the matching sessions; report which pids were signalled.

        A retry selects afresh: sessions already ended no longer match, and each attempt
        signals at most ``max_count`` sessions.
        """
        rows = await signal_sessions(selection=p, how=self.how)
        return {
            self.done_key: [row["pid"] for row in rows if row["signalled"]],
            "not_signalled": [row["pid"] for row in rows if not row["signalled"]],
            "sessions": rows,
        }

    def plan(self, p: SessionSelection) -> str:
        """Describe the selection."""
        filters = p.model_dump(exclude={"target", "max_count"}, exclude_none=True)
        return f"{self.how} up to {p.max_count} session(s) on {p.target} matching {filters}"


@actuator("pg.cancel_backend", tier="warn", params=SessionSelection, irreversible=True)
class CancelBackend(_SessionActuator):
    """Cancel the current query of matching sessions (the sessions stay connected)."""

    how = "cancel"
    done_key = "cancelled"


@actuator("pg.terminate_backend", tier="critical", params=SessionSelection, irreversible=True)
class TerminateBackend(_SessionActuator):
    """Terminate matching sessions (their connections close; open transactions roll back)."""

    how = "terminate"
    done_key = "terminated"
