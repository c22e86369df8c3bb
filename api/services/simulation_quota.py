"""The per-key quota on simulations: what-ifs and simulate-mode incidents a key may start.

Each simulation compiles and runs policy in a sandbox process, which costs far more than an
ordinary request, so they get their own quota beside the request rate limit. The count lives
in the app database (one row per key and fixed interval, incremented with one atomic upsert),
so every API process behind a load balancer draws on the same quota.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from api.models.policy import SimulationQuotaWindow


@dataclass(kw_only=True, frozen=True)
class QuotaAnswer:
    """The outcome of taking one simulation from a key's quota.

    Attributes:
        admitted: Whether the simulation may start.
        started: Simulations the key started in this interval, this one included.
        retry_after: Seconds until the next interval, when refused.
    """

    admitted: bool
    started: int
    retry_after: float


def take_simulation(
    engine: Engine, key_id: str, limit: int, interval_seconds: int, now: float | None = None
) -> QuotaAnswer:
    """Count one simulation for ``key_id`` and say whether it is within ``limit``.

    A refused attempt counts too (the count only grows within an interval), which keeps
    the upsert a single statement; it changes nothing for the key, which is over already.

    Args:
        engine: The app database.
        key_id: The API key's public id.
        limit: Simulations per interval.
        interval_seconds: The interval; windows start at multiples of it (epoch seconds).
        now: Epoch seconds (default: the clock).
    """
    moment = time.time() if now is None else now
    window = int(moment // interval_seconds) * interval_seconds
    table = SimulationQuotaWindow.__table__  # type: ignore[attr-defined]
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    upsert = dialect.insert(table).values(key_id=key_id, window_start=window, started=1)
    upsert = upsert.on_conflict_do_update(
        index_elements=["key_id", "window_start"],
        set_={"started": table.c.started + 1},
    ).returning(table.c.started)
    with Session(engine) as session:
        started = int(session.execute(upsert).scalar_one())
        # The key's earlier windows are over: nothing reads them again.
        session.execute(
            delete(table).where(table.c.key_id == key_id, table.c.window_start < window)
        )
        session.commit()
    return QuotaAnswer(
        admitted=started <= limit,
        started=started,
        retry_after=window + interval_seconds - moment,
    )
