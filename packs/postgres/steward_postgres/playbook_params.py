"""Parameters of ``pg_kill_long_queries`` (imported outside the workflow sandbox)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from steward_postgres.sessions import MAX_COUNT_CAP, NAME_PATTERN
from steward_postgres.targets import TARGET_PATTERN

from workflows.playbook_params import PlaybookParams, VerifyWithin

Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class KillLongQueriesParams(PlaybookParams):
    """Which long-running queries to end, and how."""

    target: str | None = Field(
        default=None, pattern=TARGET_PATTERN, description="STEWARD_PG_TARGETS name (or service)"
    )
    min_duration_seconds: float = Field(
        default=300, ge=1, le=7 * 24 * 3600, description="Queries running at least this long"
    )
    application_name: Name | None = None
    usename: Name | None = None
    max_count: int = Field(default=5, ge=1, le=MAX_COUNT_CAP, description="Most queries to end")
    terminate: bool = Field(
        default=False, description="Terminate the sessions (critical) instead of cancelling"
    )
    verify_within_seconds: VerifyWithin = 20


def long_query_count_sql(*, p: KillLongQueriesParams) -> str:
    """SQL counting the active queries the playbook is meant to have ended.

    Names are embedded as literals: their pattern admits no quote or backslash.
    """
    conditions = [
        "backend_type = 'client backend'",
        "pid <> pg_backend_pid()",
        "datname = current_database()",
        "state = 'active'",
        f"now() - query_start >= make_interval(secs => {float(p.min_duration_seconds)!r})",
    ]
    if p.application_name is not None:
        conditions.append(f"application_name = '{p.application_name}'")
    if p.usename is not None:
        conditions.append(f"usename = '{p.usename}'")
    return "SELECT count(*) FROM pg_stat_activity WHERE " + " AND ".join(conditions)
