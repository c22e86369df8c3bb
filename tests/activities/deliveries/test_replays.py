"""The ``webhooks.replay`` actuator and ``webhooks.replayed`` check against the demo sender."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

import activities.actuators.webhooks as webhooks
from activities.actuators.registry import ActuatorContext, get_actuator, get_check, parse_params
from activities.actuators.webhooks import ReplayParams
from api.core.db import make_engine, migrate
from api.core.settings import Settings
from api.models.detection import DeliveryReplay
from tests.support.deliveries import (
    DELIVERED,
    PERMANENT_404,
    RATE_LIMITED,
    TRANSIENT_503,
    TRANSIENT_REFUSED,
    ago,
    attempt,
    store,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
SINCE = ago(hours=1).isoformat()


def seed(engine: Engine) -> None:
    store(
        engine,
        [
            attempt("w-1", TRANSIENT_503, at=ago(minutes=40)),
            attempt("w-2", TRANSIENT_REFUSED, at=ago(minutes=30)),
            attempt("w-3", TRANSIENT_503, at=ago(minutes=20)),
            attempt("w-404", PERMANENT_404, at=ago(minutes=35)),
            attempt("w-429", RATE_LIMITED, at=ago(minutes=25)),
            attempt("w-ok", TRANSIENT_503, at=ago(minutes=15)),
            attempt("w-ok", DELIVERED, attempt_no=2, at=ago(minutes=10)),
            attempt("w-other", TRANSIENT_503, tenant="globex", at=ago(minutes=10)),
        ],
    )


async def replay(
    http: httpx.AsyncClient, settings: Settings, engine: Engine, key: str, **params: Any
) -> dict[str, Any]:
    actuator = get_actuator("webhooks.replay")
    parsed = parse_params(
        actuator.params_model, {"tenant": "acme", "since": SINCE, **params}, "webhooks.replay"
    )
    return await actuator.apply(ActuatorContext(http, settings, key, database=engine), parsed)


def replays_at_sender(demo: httpx.Client) -> list[str]:
    return [r["delivery_id"] for r in demo.get("/admin/webhooks/replays").json()]


def claims(engine: Engine, request_id: str) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.exec(
            select(DeliveryReplay).where(DeliveryReplay.request_id == request_id)
        ).all()
        return {row.delivery_id: row.status for row in rows}


async def test_a_retried_replay_never_sends_a_delivery_twice(
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(engine)
    key = "inc-replay-test:1"
    real_record = webhooks.record

    def crash(*args: Any) -> None:
        raise RuntimeError("worker died after the sender replayed")

    # The first attempt dies between sending and recording the answers.
    monkeypatch.setattr(webhooks, "record", crash)
    with pytest.raises(RuntimeError, match="worker died"):
        await replay(http, settings, engine, key)
    assert sorted(replays_at_sender(demo)) == ["w-1", "w-2", "w-3"]
    assert claims(engine, key) == {"w-1": "pending", "w-2": "pending", "w-3": "pending"}

    # The retry resends the pending claims under the same key: the sender answers duplicate.
    monkeypatch.setattr(webhooks, "record", real_record)
    result = await replay(http, settings, engine, key)
    assert sorted(replays_at_sender(demo)) == ["w-1", "w-2", "w-3"]  # still once each
    assert claims(engine, key) == {"w-1": "replayed", "w-2": "replayed", "w-3": "replayed"}
    assert result["totals"] == {"replayed": 3} and result["recommended"] == 3
    assert {r["delivery_id"]: r["category"] for r in result["results"]} == {
        "w-1": "transient_endpoint_down",
        "w-2": "transient_endpoint_down",
        "w-3": "transient_endpoint_down",
    }
    # A retry after success sends nothing and reports the same.
    assert await replay(http, settings, engine, key) == result
    assert len(replays_at_sender(demo)) == 3

    # Another request finds them replayed after their last failure: nothing to send.
    later = await replay(http, settings, engine, "inc-other:1")
    assert later["totals"] == {"replayed_earlier": 3}
    assert len(replays_at_sender(demo)) == 3

    # A new failure of w-2 after its replay makes it due again, for a new request.
    store(engine, [attempt("w-2", TRANSIENT_503, attempt_no=2)])
    again = await replay(http, settings, engine, "inc-third:1")
    assert again["totals"] == {"replayed": 1, "replayed_earlier": 2}
    assert sorted(replays_at_sender(demo)) == ["w-1", "w-2", "w-2", "w-3"]
    # Never a permanent, rate-limited, delivered or other tenant's delivery.
    assert not {"w-404", "w-429", "w-ok", "w-other"} & set(replays_at_sender(demo))


async def test_the_limit_holds_across_retries(
    settings: Settings, engine: Engine, demo: httpx.Client, http: httpx.AsyncClient
) -> None:
    seed(engine)
    first = await replay(http, settings, engine, "inc-limit:1", max_deliveries=2)
    assert first["truncated"] is True and first["totals"] == {"replayed": 2}
    assert [r["delivery_id"] for r in first["results"]] == ["w-1", "w-2"]  # oldest first
    retry = await replay(http, settings, engine, "inc-limit:1", max_deliveries=2)
    assert retry["totals"] == {"replayed": 2}  # a retry never widens the request
    assert replays_at_sender(demo) == ["w-1", "w-2"]
    # The sender's answers carry the idempotency key the replay was made under.
    sent = demo.get("/admin/webhooks/replays", params={"key": "inc-limit:1"}).json()
    assert [s["tenant"] for s in sent] == ["acme", "acme"]


async def test_the_check_counts_what_is_left(
    settings: Settings, engine: Engine, demo: httpx.Client, http: httpx.AsyncClient
) -> None:
    seed(engine)
    check = get_check("webhooks.replayed")
    params = parse_params(
        check.params_model,
        {"tenants": ["acme", "globex"], "since": SINCE, "until": ago(seconds=1).isoformat()},
        "webhooks.replayed",
    )
    context = ActuatorContext(http, settings, database=engine)
    before = await check.run(context, params)
    assert not before.ok and before.observed["outstanding"] == {"acme": 3, "globex": 1}
    await replay(http, settings, engine, "inc-check:1")
    await replay(http, settings, engine, "inc-check:2", tenant="globex")
    after = await check.run(context, params)
    assert after.ok, after.detail


async def test_the_actuator_uses_the_database_its_context_hands_it(
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    http: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    # The process-wide database (the test's ``engine``) holds failures to replay; the
    # context's database holds none: a replay through the context sends nothing.
    seed(engine)
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other)
    try:
        result = await replay(http, settings, other, "inc-elsewhere:1")
        assert replays_at_sender(demo) == []
        assert (result["recommended"], result["results"]) == (0, []), result
        assert claims(engine, "inc-elsewhere:1") == {}
        # Without a database in the context the actuator refuses; it never reaches for one.
        with pytest.raises(RuntimeError, match="needs the app database"):
            await get_actuator("webhooks.replay").apply(
                ActuatorContext(http, settings, "inc-nowhere:1"),
                parse_params(ReplayParams, {"tenant": "acme", "since": SINCE}, "webhooks.replay"),
            )
    finally:
        other.dispose()


async def test_parameters_are_checked(settings: Settings) -> None:
    actuator = get_actuator("webhooks.replay")
    assert actuator.tier == "warn" and actuator.irreversible
    with pytest.raises(ValueError, match="since"):
        parse_params(actuator.params_model, {"tenant": "a", "since": "2026-11-01T00:00:00"}, "x")
    with pytest.raises(ValueError, match="max_deliveries"):
        parse_params(
            actuator.params_model, {"tenant": "a", "since": SINCE, "max_deliveries": 0}, "x"
        )
