"""Refused requests cost O(1) rows: counted per kind and interval, limited per address, pruned."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli.main import app as cli
from api.core.ratelimit import TokenBucketLimiter
from api.core.settings import Settings, get_settings
from api.http.deps import UNAUTHENTICATED_LIMIT_REASON
from api.main import create_app
from api.models import RefusedApproval
from api.models.access import RefusalCount
from api.models.detection import DeliveryAttemptRow, Event
from api.services.refusals import OVERFLOW_REASON, Refusal, RefusalCounter
from api.services.retention import prune
from bench.harness.servers import serve_app

NO_KEY = Refusal(method="GET", route="/api/v1/incidents", status=401, reason="no API key")


class Clock:
    """A settable clock for the counter's intervals."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def stored(engine: Engine) -> list[RefusalCount]:
    with Session(engine) as session:
        return list(session.exec(select(RefusalCount).order_by(RefusalCount.id)).all())


def test_a_thousand_refusals_of_one_kind_are_one_row(db_engine: Engine) -> None:
    clock = Clock(datetime(2026, 12, 3, 8, 0, 5, tzinfo=UTC))
    counter = RefusalCounter(lambda: db_engine, interval_seconds=60, clock=clock)
    firsts = [counter.add(NO_KEY) for _ in range(1000)]
    assert firsts == [True] + [False] * 999  # only the first of its kind asks for a write
    other = Refusal(method="GET", route="/api/v1/keys", status=403, reason="x", principal="ada")
    assert counter.add(other) is True
    assert counter.flush() == 2
    assert counter.flush() == 0

    rows = stored(db_engine)
    assert [(r.route, r.status, r.principal, r.count) for r in rows] == [
        ("/api/v1/incidents", 401, "", 1000),
        ("/api/v1/keys", 403, "ada", 1),
    ]
    assert rows[0].interval_start == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert rows[0].first_seen == rows[0].last_seen == clock.at


def test_counts_from_two_processes_add_up_and_intervals_get_rows_of_their_own(
    db_engine: Engine,
) -> None:
    start = datetime(2026, 12, 3, 8, 0, 1, tzinfo=UTC)
    clock = Clock(start)
    first = RefusalCounter(lambda: db_engine, interval_seconds=60, clock=clock)
    second = RefusalCounter(lambda: db_engine, interval_seconds=60, clock=clock)
    for _ in range(3):
        first.add(NO_KEY)
    first.flush()
    clock.at = start + timedelta(seconds=30)
    for _ in range(4):
        second.add(NO_KEY)
    second.flush()  # the same row, counted up by an upsert
    clock.at = start + timedelta(seconds=61)
    assert first.add(NO_KEY) is True  # a new minute: a new kind again
    first.flush()

    rows = stored(db_engine)
    assert [r.count for r in rows] == [7, 1]
    assert rows[0].first_seen == start and rows[0].last_seen == start + timedelta(seconds=30)
    assert rows[1].interval_start == datetime(2026, 12, 3, 8, 1, tzinfo=UTC)


def test_kinds_past_the_bound_are_counted_together(db_engine: Engine) -> None:
    counter = RefusalCounter(
        lambda: db_engine, max_kinds=3, clock=Clock(datetime(2026, 12, 3, tzinfo=UTC))
    )
    for n in range(50):  # fifty distinct (caller-chosen) key ids
        counter.add(Refusal(method="GET", route="/r", status=401, reason="bad", key_id=f"{n:x}"))
    counter.flush()

    rows = stored(db_engine)
    assert len(rows) == 4
    assert [(r.reason, r.count) for r in rows if r.reason == OVERFLOW_REASON] == [
        (OVERFLOW_REASON, 47)
    ]
    assert sum(r.count for r in rows) == 50


@pytest.fixture
def limited_api(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The API with a small per-address limit on requests without a valid key."""
    monkeypatch.setenv("STEWARD_UNAUTHENTICATED_BURST", "10")
    monkeypatch.setenv("STEWARD_UNAUTHENTICATED_PER_MINUTE", "6")
    get_settings.cache_clear()
    with serve_app(create_app()) as url:
        yield url


@pytest.mark.asyncio(loop_scope="session")
async def test_an_unauthenticated_flood_is_limited_and_costs_o1_rows(
    limited_api: str, api_keys: dict[str, str], engine: Engine
) -> None:
    flood = 300
    async with httpx.AsyncClient(base_url=limited_api, timeout=30) as api:
        answers = [await api.get("/api/v1/incidents") for _ in range(flood // 2)]
        bad_key = {"X-API-Key": "stw_0123456789abcdef_wrong"}
        answers += [await api.get("/api/v1/incidents", headers=bad_key) for _ in range(flood // 2)]
        # A valid key from the same address is not held back by the address's limit.
        allowed = await api.get("/api/v1/incidents", headers={"X-API-Key": api_keys["auditor"]})
        listed = await api.get(
            "/api/v1/refusals",
            params={"client": "127.0.0.1", "route": "/api/v1/incidents"},
            headers={"X-API-Key": api_keys["auditor"]},
        )
    statuses = [a.status_code for a in answers]
    assert statuses[:10] == [401] * 10
    assert statuses.count(429) >= flood - 20  # 10 at once, then 6 a minute
    limited = next(a for a in answers if a.status_code == 429)
    assert 1 <= int(limited.headers["Retry-After"]) <= 10
    assert limited.json()["detail"].startswith(UNAUTHENTICATED_LIMIT_REASON)
    assert allowed.status_code == 200

    counted: dict[tuple[int, str], int] = {}
    for row in listed.json():
        kind = (row["status"], row["reason"])
        counted[kind] = counted.get(kind, 0) + row["count"]
    assert sum(counted.values()) == flood
    assert set(counted) <= {
        (401, "no API key"),
        (401, "API key refused: unknown key"),
        (429, UNAUTHENTICATED_LIMIT_REASON),
    }
    with Session(engine) as session:
        rows = session.exec(select(func.count()).select_from(RefusalCount)).one()
    # At most three kinds, each in at most two minutes (the flood may straddle one boundary).
    assert rows <= 6


def refusal_row(at: datetime, reason: str) -> RefusalCount:
    return RefusalCount(
        fingerprint=reason,
        interval_start=at,
        method="GET",
        route="/r",
        status=401,
        reason=reason,
        first_seen=at,
        last_seen=at,
    )


def test_retention_prunes_old_operational_rows_and_keeps_new_ones(
    db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    old, new = now - timedelta(days=40), now - timedelta(days=1)
    with Session(db_engine) as session:
        session.add(refusal_row(old, "old"))
        session.add(refusal_row(new, "new"))
        for at, name in ((now - timedelta(days=100), "old"), (new, "new")):
            session.add(
                RefusedApproval(
                    approval_id=f"{name}.1",
                    principal="p",
                    decision="approve",
                    reason="r",
                    created_at=at,
                )
            )
            # Sent today about long ago is new: age is when Steward stored the row.
            session.add(
                Event(id=name, series="s", service="demo", timestamp=old, value=1.0, received_at=at)
            )
            session.add(
                DeliveryAttemptRow(
                    delivery_id=name, tenant="t", endpoint="e", timestamp=old, received_at=at
                )
            )
        session.commit()
    settings: Any = Settings(refusal_retention_days=30, operational_retention_days=90)

    expected = {"refusal_count": 1, "refused_approval": 1, "event": 1, "delivery_attempt": 1}
    assert prune(db_engine, settings, now=now, dry_run=True) == expected
    assert prune(db_engine, settings, now=now) == expected
    assert prune(db_engine, settings, now=now) == dict.fromkeys(expected, 0)
    with Session(db_engine) as session:
        assert [r.reason for r in session.exec(select(RefusalCount)).all()] == ["new"]
        assert [r.approval_id for r in session.exec(select(RefusedApproval)).all()] == ["new.1"]
        assert [e.id for e in session.exec(select(Event)).all()] == ["new"]
        assert [d.delivery_id for d in session.exec(select(DeliveryAttemptRow)).all()] == ["new"]
    keep_forever: Any = Settings(refusal_retention_days=0, operational_retention_days=0)
    assert prune(db_engine, keep_forever, now=now + timedelta(days=999)) == {}


def test_the_retention_command_prunes_the_configured_database(engine: Engine) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(refusal_row(now - timedelta(days=31), "old"))
        session.add(refusal_row(now, "new"))
        session.commit()
    runner = CliRunner()

    dry = runner.invoke(cli, ["retention", "prune", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["rows"]["refusal_count"] == 1
    done = runner.invoke(cli, ["retention", "prune"])
    assert done.exit_code == 0, done.output
    assert "refusal_count: deleted 1 rows" in done.output
    assert [r.reason for r in stored(engine)] == ["new"]


@pytest.mark.asyncio(loop_scope="session")
async def test_the_api_prunes_on_its_own(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(refusal_row(now - timedelta(days=31), "old"))
        session.add(refusal_row(now, "new"))
        session.commit()
    monkeypatch.setenv("STEWARD_RETENTION_PRUNE_SECONDS", "0.2")
    get_settings.cache_clear()
    with serve_app(create_app()):
        deadline = time.monotonic() + 20
        while len(stored(engine)) > 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    assert [r.reason for r in stored(engine)] == ["new"]


def test_address_buckets_are_bounded() -> None:
    limiter = TokenBucketLimiter(per_minute=60, burst=1, clock=lambda: 0.0, max_keys=3)
    for address in ("a", "b", "c"):
        assert limiter.take(address) == 0
    assert limiter.take("a") > 0  # "a" is now the most recently used
    assert limiter.take("d") == 0  # evicts "b", the least recently used
    assert len(limiter) == 3
    assert limiter.take("b") == 0  # forgotten: a full bucket again
    assert limiter.take("a") > 0
