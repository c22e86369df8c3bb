"""The record of refused requests (401, 403, 413, 429): who asked, for what, why not, how often.

Refusals are counted, not stored one by one: a refused request costs a dictionary update in
memory, and each interval's counts reach the ``refusal_count`` table as one upserted row per
(principal, presented key, address, method, route, status, reason). The first refusal of a kind
in an interval is written before the answer goes out (and logged), so the record never lags
for something new; repeats are written in batches by ``RefusalCounter.run``. A flood of
refused requests therefore adds rows per interval, not per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from api.models import utcnow
from api.models.access import RefusalCount

logger = logging.getLogger("steward.refusals")

# Statuses that mean "you may not", as opposed to "that is wrong" (4xx validation) or "we failed".
REFUSAL_STATUSES = frozenset({401, 403, 413, 429})
# Bounds on caller-controlled text, so a refusal cannot be used to fill the database.
MAX_FIELD_CHARS = 1000
# Past this many kinds of refusal in one interval, further new kinds are counted together.
MAX_KINDS_PER_INTERVAL = 10_000
OVERFLOW_REASON = "more kinds of refusal in this interval than are counted apart"
_UPSERT_CHUNK = 500


def log_safe(text: str | None) -> str:
    """Return ``text`` with control characters escaped, so caller input cannot forge log lines."""
    if text is None:
        return "-"
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


@dataclass(frozen=True)
class Refusal:
    """One refused request.

    Attributes:
        method: HTTP method.
        route: The route's path template when it matched one, else ``(no route)``.
        status: 401, 403, 413 or 429.
        reason: Why, in full (the HTTP answer may say less to an unauthenticated caller).
        principal: Who the caller proved to be; None when it proved nothing.
        key_id: Public id of the presented key, when the token was well-formed.
        client: The caller's address.
    """

    method: str
    route: str
    status: int
    reason: str
    principal: str | None = None
    key_id: str | None = None
    client: str | None = None


# (interval start, principal, key id, client, method, route, status, reason)
Kind = tuple[datetime, str, str, str, str, str, int, str]


@dataclass(kw_only=True)
class _Tally:
    count: int
    first_seen: datetime
    last_seen: datetime


def interval_start(at: datetime, interval_seconds: int) -> datetime:
    """Return the start of the ``interval_seconds`` wide interval that holds ``at``."""
    epoch = at.timestamp()
    return datetime.fromtimestamp(epoch - epoch % interval_seconds, tz=at.tzinfo)


def fingerprint(kind: Kind) -> str:
    """Return the unique key of a counted kind of refusal (the upsert's conflict target)."""
    start, *fields = kind
    joined = "\x1f".join([start.isoformat(), *(str(field) for field in fields)])
    return hashlib.sha256(joined.encode("utf-8", "backslashreplace")).hexdigest()


def store_counts(engine: Engine, tallies: dict[Kind, _Tally]) -> None:
    """Add ``tallies`` to the stored counts: one upsert per kind, in one transaction.

    Concurrent API processes may count the same kind: the upsert adds to the row either way.
    """
    table = RefusalCount.__table__  # type: ignore[attr-defined]
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    rows = [
        {
            "fingerprint": fingerprint(kind),
            "interval_start": kind[0],
            "principal": kind[1],
            "key_id": kind[2],
            "client": kind[3],
            "method": kind[4],
            "route": kind[5],
            "status": kind[6],
            "reason": kind[7],
            "count": tally.count,
            "first_seen": tally.first_seen,
            "last_seen": tally.last_seen,
        }
        for kind, tally in tallies.items()
    ]
    with engine.begin() as connection:
        for offset in range(0, len(rows), _UPSERT_CHUNK):
            insert = dialect.insert(table).values(rows[offset : offset + _UPSERT_CHUNK])
            new = insert.excluded
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[table.c.fingerprint],
                    set_={
                        # Subscripts: ``.count`` of a column collection is a tuple method.
                        "count": table.c["count"] + new["count"],
                        "first_seen": case(
                            (new.first_seen < table.c.first_seen, new.first_seen),
                            else_=table.c.first_seen,
                        ),
                        "last_seen": case(
                            (new.last_seen > table.c.last_seen, new.last_seen),
                            else_=table.c.last_seen,
                        ),
                    },
                )
            )


class RefusalCounter:
    """Counts refusals in memory and writes the counts in batches; bounded in memory.

    One per API process (``app.state.refusals``). Safe to use from the event loop and from
    threads.
    """

    def __init__(
        self,
        engine_of: Callable[[], Engine],
        *,
        interval_seconds: int = 60,
        max_kinds: int = MAX_KINDS_PER_INTERVAL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Create a counter.

        Args:
            engine_of: Returns the app database to write to (looked up at each write).
            interval_seconds: Width of a counting interval.
            max_kinds: Kinds of refusal counted apart per interval; beyond it, new kinds are
                counted together under ``OVERFLOW_REASON`` (memory and rows stay bounded).
            clock: Aware UTC time; replaceable so intervals are testable.
        """
        self._engine_of = engine_of
        self.interval_seconds = interval_seconds
        self._max_kinds = max_kinds
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[Kind, _Tally] = {}
        self._seen_interval: datetime | None = None
        self._seen: set[Kind] = set()

    def _kind(self, refusal: Refusal, start: datetime) -> Kind:
        kind: Kind = (
            start,
            (refusal.principal or "")[:MAX_FIELD_CHARS],
            refusal.key_id or "",
            refusal.client or "",
            refusal.method[:16],
            refusal.route[:MAX_FIELD_CHARS],
            refusal.status,
            refusal.reason[:MAX_FIELD_CHARS],
        )
        if kind in self._seen or len(self._seen) < self._max_kinds:
            return kind
        return (start, "", "", "", "*", "*", refusal.status, OVERFLOW_REASON)

    def add(self, refusal: Refusal) -> bool:
        """Count ``refusal`` in memory.

        Returns:
            True when it is the first of its kind in this interval: write it now
            (:meth:`flush`) so the record shows every kind of refusal without delay.
        """
        now = self._clock()
        start = interval_start(now, self.interval_seconds)
        with self._lock:
            if start != self._seen_interval:
                self._seen_interval, self._seen = start, set()
            kind = self._kind(refusal, start)
            tally = self._pending.get(kind)
            if tally is None:
                self._pending[kind] = _Tally(count=1, first_seen=now, last_seen=now)
            else:
                tally.count += 1
                tally.last_seen = max(tally.last_seen, now)
            first = kind not in self._seen
            self._seen.add(kind)
        return first

    def flush(self) -> int:
        """Write the pending counts; a database failure is logged and the counts kept.

        Returns:
            How many kinds were written.
        """
        with self._lock:
            taken, self._pending = self._pending, {}
        if not taken:
            return 0
        try:
            store_counts(self._engine_of(), taken)
        except SQLAlchemyError:
            logger.exception("could not record %d kinds of refused request", len(taken))
            self._put_back(taken)
            return 0
        return len(taken)

    def _put_back(self, taken: dict[Kind, _Tally]) -> None:
        with self._lock:
            for kind, tally in taken.items():
                kept = self._pending.get(kind)
                if kept is not None:
                    kept.count += tally.count
                    kept.first_seen = min(kept.first_seen, tally.first_seen)
                elif len(self._pending) < 2 * self._max_kinds:
                    self._pending[kind] = tally

    async def record(self, refusal: Refusal) -> None:
        """Count ``refusal``; the first of its kind in an interval is logged and written now.

        Failing to record never changes the answer: a 403 must not become a 500.
        """
        if not self.add(refusal):
            return
        logger.warning(
            "refused %s %s with %d for %s from %s: %s (repeats this interval are counted)",
            refusal.method,
            log_safe(refusal.route),
            refusal.status,
            log_safe(refusal.principal),
            log_safe(refusal.client),
            log_safe(refusal.reason),
        )
        await run_in_threadpool(self.flush)

    async def run(self, stop: asyncio.Event, every_seconds: float) -> None:
        """Write the pending counts every ``every_seconds``; once more when ``stop`` is set."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_seconds)
            await run_in_threadpool(self.flush)
