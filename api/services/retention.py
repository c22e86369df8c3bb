"""Retention: operational rows are pruned after a while; audit records never are.

Operational (pruned), by the column that says when the row was stored:

- ``refusal_count`` by ``last_seen``, after ``refusal_retention_days``;
- ``refused_approval`` by ``created_at``, after ``operational_retention_days`` (the signed
  ledger keeps each refused vote);
- ``event`` and ``delivery_attempt`` by ``received_at``, after ``operational_retention_days``.

Audit records (never pruned): incidents, their steps, approvals and votes, the evidence ledger,
archived policy bundles, policy changes and the facts the gate reads, incident evidence,
delivery replays (they also keep a replay from running twice), monitors, API keys and Slack
links. Slack's replay nonces expire on their own (``api.slack.verify``).

Age is when Steward stored a row, not a timestamp the sender chose: an event pushed today about
last year is kept like any other pushed today.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, Table, delete, func, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel

from api.core.settings import Settings
from api.models import RefusedApproval, utcnow
from api.models.access import RefusalCount
from api.models.detection import DeliveryAttemptRow, Event

logger = logging.getLogger("steward.retention")

# Rows deleted per statement: short write transactions, so SQLite writers are not held up.
PRUNE_BATCH = 5000


@dataclass(frozen=True, kw_only=True)
class RetentionRule:
    """One operational table and how its rows age.

    Attributes:
        table: The table.
        key: Its primary key column's name.
        stored_at: The name of the column that says when a row was stored.
        days: Returns how many days rows are kept (0: forever) from the settings.
    """

    table: Table
    key: str
    stored_at: str
    days: Callable[[Settings], float]


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


RULES = (
    RetentionRule(
        table=_table(RefusalCount),
        key="id",
        stored_at="last_seen",
        days=lambda s: s.refusal_retention_days,
    ),
    RetentionRule(
        table=_table(RefusedApproval),
        key="id",
        stored_at="created_at",
        days=lambda s: s.operational_retention_days,
    ),
    RetentionRule(
        table=_table(Event),
        key="id",
        stored_at="received_at",
        days=lambda s: s.operational_retention_days,
    ),
    RetentionRule(
        table=_table(DeliveryAttemptRow),
        key="id",
        stored_at="received_at",
        days=lambda s: s.operational_retention_days,
    ),
)


def prune(
    engine: Engine, settings: Settings, *, now: datetime | None = None, dry_run: bool = False
) -> dict[str, int]:
    """Delete (or, with ``dry_run``, count) the operational rows past their retention.

    Returns:
        Rows deleted (or that would be) per table; tables kept forever are left out.
    """
    moment = now or utcnow()
    report: dict[str, int] = {}
    for rule in RULES:
        days = rule.days(settings)
        if days <= 0:
            continue
        old = rule.table.c[rule.stored_at] < moment - timedelta(days=days)
        if dry_run:
            with engine.connect() as connection:
                count = select(func.count()).select_from(rule.table).where(old)
                report[rule.table.name] = int(connection.execute(count).scalar_one())
        else:
            report[rule.table.name] = _delete_in_batches(engine, rule, old)
    return report


def _delete_in_batches(engine: Engine, rule: RetentionRule, old: ColumnElement[bool]) -> int:
    key = rule.table.c[rule.key]
    deleted = 0
    while True:
        batch = select(key).where(old).limit(PRUNE_BATCH).scalar_subquery()
        with engine.begin() as connection:
            gone = connection.execute(delete(rule.table).where(key.in_(batch))).rowcount
        deleted += gone
        if gone < PRUNE_BATCH:
            return deleted


async def run_retention(
    engine_of: Callable[[], Engine], settings: Settings, stop: asyncio.Event
) -> None:
    """Prune every ``retention_prune_seconds`` until ``stop`` is set (never when it is 0).

    A failure is logged and tried again at the next turn: pruning must not stop the API.
    """
    every = settings.retention_prune_seconds
    if every <= 0:
        return
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
            return
        except TimeoutError:
            pass
        try:
            report = await asyncio.to_thread(prune, engine_of(), settings)
        except Exception:  # noqa: BLE001 - logged; the next turn tries again
            logger.exception("pruning operational tables failed")
            continue
        if any(report.values()):
            logger.info("pruned operational rows past retention: %s", report)
