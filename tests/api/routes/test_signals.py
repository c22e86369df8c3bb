"""``POST /api/v1/events``: idempotent, all or nothing, malformed points named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.core.settings import Settings, get_settings
from api.main import create_app
from api.models.detection import Event
from bench.harness.servers import serve_app

pytestmark = pytest.mark.asyncio(loop_scope="session")
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def event(ident: str, value: Any = 1.0, **changes: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "series": "checkout.latency_ms",
        "service": "demo",
        "timestamp": (T0 + timedelta(seconds=len(ident))).isoformat(),
        "value": value,
        "labels": {"region": "eu"},
        **changes,
    }


def stored(engine: Engine) -> list[tuple[str, float]]:
    with Session(engine) as session:
        rows = session.exec(select(Event).order_by(col(Event.id))).all()
        return [(row.id, row.value) for row in rows]


async def post_raw(api: httpx.AsyncClient, key: str, text: str) -> httpx.Response:
    return await api.post(
        "/api/v1/events",
        content=text,
        headers={"X-API-Key": key, "content-type": "application/json"},
    )


async def test_events_are_stored_once_and_duplicates_reported(
    api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    headers = {"Authorization": f"Bearer {api_keys['engineer']}"}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        first = await api.post(
            "/api/v1/events",
            json={"events": [event("e1", 1.5), event("e2", 7), event("e1", 99.0)]},
            headers=headers,
        )
        assert first.status_code == 200, first.text
        assert first.json() == {"received": 3, "stored": 2, "duplicates": ["e1"]}
        again = await api.post(
            "/api/v1/events",
            json={"events": [event("e2", 8.0), event("e3", -2.5, timestamp=1793534400)]},
            headers=headers,
        )
        assert again.json() == {"received": 2, "stored": 1, "duplicates": ["e2"]}
    # The first write of an id wins; epoch seconds are a valid timestamp.
    assert stored(engine) == [("e1", 1.5), ("e2", 7.0), ("e3", -2.5)]
    with Session(engine) as session:
        e3 = session.get(Event, "e3")
        assert e3 is not None and e3.timestamp == datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
        assert e3.labels == {"region": "eu"}


async def test_malformed_batches_name_the_field_and_store_nothing(
    api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    key = api_keys["admin"]
    good = json.dumps(event("ok"))
    cases = {
        # JSON has no NaN, but Python's and JavaScript's encoders write these literals.
        "NaN": "events[1].value",
        "Infinity": "events[1].value",
        "-Infinity": "events[1].value",
        '"12.5"': "events[1].value",
        "true": "events[1].value",
        "null": "events[1].value",
    }
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        for literal, field in cases.items():
            bad = json.dumps(event("bad")).replace('"value": 1.0', f'"value": {literal}')
            answer = await post_raw(api, key, f'{{"events": [{good}, {bad}]}}')
            assert answer.status_code == 422, (literal, answer.text)
            assert [e["field"] for e in answer.json()["errors"]] == [field], literal
        nan = await post_raw(api, key, f'{{"events": [{good}, {good.replace("1.0", "NaN")}]}}')
        assert "must be a finite number" in nan.json()["detail"]
        assert "leave the point out" in nan.json()["detail"]

        shapes = [
            event("a", timestamp="2026-11-01T12:00:00"),  # no zone: refused, not guessed
            event("b", timestamp="yesterday"),
            event("c", series="has space"),
            {k: v for k, v in event("d").items() if k != "service"},
            event("e", extra="field"),
            event("", labels={"region": 3}),
        ]
        answer = await api.post(
            "/api/v1/events",
            json={"events": [event("fine"), *shapes]},
            headers={"X-API-Key": key},
        )
        assert answer.status_code == 422
        fields = [e["field"] for e in answer.json()["errors"]]
        assert fields == [
            "events[1].timestamp",
            "events[2].timestamp",
            "events[3].series",
            "events[4].service",
            "events[5].extra",
            "events[6].id",
            "events[6].labels.region",
        ]
        assert answer.json()["detail"].startswith(
            "events[1].timestamp: Input should have timezone info"
        )
        for body in ("{}", '{"events": []}', '{"events": [', "[]"):
            answer = await post_raw(api, key, body)
            assert answer.status_code == 422, body
    assert stored(engine) == []


@pytest.fixture
def small_batches(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("STEWARD_INGEST_MAX_BATCH", "3")
    get_settings.cache_clear()
    with serve_app(create_app()) as url:
        yield url
    get_settings.cache_clear()


async def test_batch_size_limit(
    small_batches: str, api_keys: dict[str, str], engine: Engine
) -> None:
    async with httpx.AsyncClient(base_url=small_batches, timeout=30) as api:
        answer = await api.post(
            "/api/v1/events",
            json={"events": [event(f"e{i}") for i in range(4)]},
            headers={"X-API-Key": api_keys["engineer"]},
        )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "events", "message": "at most 3 events per batch, got 4", "type": "value_error"}
    ]
    assert stored(engine) == []
