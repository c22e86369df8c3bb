"""The events source reads one series' pushed points over the window (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from activities.sources import FetchWindow, SourceConfigError, SourceContext, validate_source
from activities.sources.events import fetch
from api.core.settings import Settings
from api.models.detection import Event

pytestmark = pytest.mark.asyncio(loop_scope="session")

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def push(db_engine: Engine, series: str, values: list[float], service: str = "checkout") -> None:
    with Session(db_engine) as session:
        for n, value in enumerate(values):
            session.add(
                Event(
                    id=f"{series}-{service}-{n}",
                    series=series,
                    service=service,
                    timestamp=START + timedelta(seconds=10 * n),
                    value=value,
                )
            )
        session.commit()


def window(first: int, last: int) -> FetchWindow:
    start = (START + timedelta(seconds=first)).timestamp()
    return FetchWindow(start, (START + timedelta(seconds=last)).timestamp())


async def read(db_engine: Engine, source: dict[str, Any], span: FetchWindow) -> list[Any]:
    async with httpx.AsyncClient() as http:
        context = SourceContext(Settings(), http, db_engine)
        return await fetch(context, validate_source(source, 3600), span)


async def test_the_window_of_one_series_oldest_first(db_engine: Engine) -> None:
    push(db_engine, "latency", [1.0, 2.0, 3.0, 4.0, 5.0])
    push(db_engine, "errors", [9.0, 9.0])
    [series] = await read(db_engine, {"kind": "events", "series": "latency"}, window(10, 30))
    assert series.values == [2.0, 3.0, 4.0]
    assert series.timestamps == [window(s, s).start for s in (10, 20, 30)]
    assert series.labels == {"series": "latency"}


async def test_service_narrows_and_max_points_keeps_the_newest(db_engine: Engine) -> None:
    push(db_engine, "latency", [1.0, 2.0, 3.0], service="checkout")
    push(db_engine, "latency", [7.0, 8.0, 9.0], service="billing")
    [billing] = await read(
        db_engine, {"kind": "events", "series": "latency", "service": "billing"}, window(0, 60)
    )
    assert billing.values == [7.0, 8.0, 9.0] and billing.labels["service"] == "billing"
    [newest] = await read(
        db_engine,
        {"kind": "events", "series": "latency", "service": "checkout", "max_points": 2},
        window(0, 60),
    )
    assert newest.values == [2.0, 3.0]


async def test_nothing_pushed_is_no_series(db_engine: Engine) -> None:
    assert await read(db_engine, {"kind": "events", "series": "quiet"}, window(0, 60)) == []


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ({"kind": "events"}, "series"),
        ({"kind": "events", "series": "x", "service": ""}, "service"),
        ({"kind": "events", "series": "x", "max_points": 0}, "max_points"),
        ({"kind": "events", "series": "x", "query": "up"}, "query"),
    ],
)
async def test_settings_name_the_field_at_fault(source: dict[str, Any], field: str) -> None:
    with pytest.raises(SourceConfigError) as raised:
        validate_source(source, 60)
    assert raised.value.field == field
