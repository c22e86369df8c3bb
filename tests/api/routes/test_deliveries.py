"""Delivery ingest, triage and the replay advisor over the REST API, with a real worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.core.settings import Settings, get_settings
from api.main import create_app
from api.models.detection import DeliveryAttemptRow
from bench.harness.servers import serve_app
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


def stored_attempts(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(DeliveryAttemptRow)).one())


async def push(api: httpx.AsyncClient, key: str, attempts: list[dict[str, Any]]) -> httpx.Response:
    return await api.post(
        "/api/v1/deliveries", json={"deliveries": attempts}, headers={"X-API-Key": key}
    )


async def test_ingest_is_idempotent_and_all_or_nothing(
    api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    batch = [
        attempt("d-1", TRANSIENT_503),
        attempt("d-1", DELIVERED, attempt_no=2),
        attempt("d-2", PERMANENT_404),
        attempt("d-2", PERMANENT_404),  # the same attempt twice in one batch
    ]
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        first = await push(api, api_keys["engineer"], batch)
        assert first.status_code == 200, first.text
        assert first.json()["received"] == 4 and first.json()["stored"] == 3
        assert first.json()["duplicates"] == [{"delivery_id": "d-2", "attempt": 1}]
        again = await push(api, api_keys["admin"], batch[:2] + [attempt("d-3", TRANSIENT_503)])
        assert again.json()["stored"] == 1
        assert [d["delivery_id"] for d in again.json()["duplicates"]] == ["d-1", "d-1"]
        assert stored_attempts(engine) == 4

        bad = [
            attempt("d-4", TRANSIENT_503),
            {**attempt("d-5", TRANSIENT_503), "timestamp": "2026-11-01T10:00:00"},
            {**attempt("d-6", TRANSIENT_503), "status_code": 700},
            {**attempt("d-7", TRANSIENT_503), "attempt": 0},
        ]
        del bad[0]["tenant"]
        refused = await push(api, api_keys["engineer"], bad)
        assert refused.status_code == 422
        fields = [e["field"] for e in refused.json()["errors"]]
        assert fields == [
            "deliveries[0].tenant",
            "deliveries[1].timestamp",
            "deliveries[2].status_code",
            "deliveries[3].attempt",
        ]
        assert (
            "deliveries[1].timestamp: Input should have timezone info" in (refused.json()["detail"])
        )
        assert stored_attempts(engine) == 4  # nothing of the bad batch

        empty = await push(api, api_keys["engineer"], [])
        assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "deliveries"
        operator = await push(api, api_keys["operator"], [attempt("d-8", TRANSIENT_503)])
        assert operator.status_code == 403 and "signals:ingest" in operator.json()["detail"]


async def test_triage_single_and_batch(
    api_url: str, api_keys: dict[str, str], worker: Worker, temporal_env: WorkflowEnvironment
) -> None:
    headers = {"X-API-Key": api_keys["auditor"]}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        await push(
            api,
            api_keys["engineer"],
            [
                attempt("t-1", TRANSIENT_503, at=ago(minutes=3)),
                attempt("t-1", PERMANENT_404, attempt_no=2, at=ago(minutes=1)),
                attempt("t-2", RATE_LIMITED),
                attempt("t-3", TRANSIENT_REFUSED),
            ],
        )
        one = await api.get("/api/v1/triage/deliveries/t-1", headers=headers)
        assert one.status_code == 200, one.text
        verdict = one.json()
        # The latest attempt decides: the 404, not the earlier 503.
        assert verdict["attempt"] == 2 and verdict["category"] == "permanent_4xx"
        assert 0 <= verdict["confidence"] <= 100 and verdict["safe_to_replay"] is False
        assert verdict["reason"].startswith("HTTP 404")
        assert verdict["recommended_action"].startswith("do not replay")

        missing = await api.get("/api/v1/triage/deliveries/nope", headers=headers)
        assert missing.status_code == 404 and "nope" in missing.json()["detail"]

        batch = await api.post(
            "/api/v1/triage/deliveries/batch",
            json={"ids": ["t-3", "t-2", "nope", "t-3"]},
            headers=headers,
        )
        assert batch.status_code == 200, batch.text
        report = batch.json()
        assert [(v["delivery_id"], v["category"]) for v in report["verdicts"]] == [
            ("t-3", "transient_endpoint_down"),
            ("t-2", "rate_limited"),
        ]
        assert report["unknown"] == ["nope"]

        too_many = await api.post(
            "/api/v1/triage/deliveries/batch",
            json={"ids": [f"x-{i}" for i in range(101)]},
            headers=headers,
        )
        assert too_many.status_code == 422
        assert too_many.json()["errors"][0]["field"] == "ids"
        assert "at most 100" in too_many.json()["detail"]
        blank = await api.post(
            "/api/v1/triage/deliveries/batch", json={"ids": ["ok", ""]}, headers=headers
        )
        assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "ids[1]"

    # Each answer is a recorded workflow run.
    runs = [
        w async for w in temporal_env.client.list_workflows('WorkflowType = "triage_deliveries"')
    ]
    assert len(runs) >= 2


async def test_replay_recommendations(
    api_url: str, api_keys: dict[str, str], worker: Worker
) -> None:
    attempts = [
        attempt("r-old", TRANSIENT_503, at=ago(minutes=50)),
        attempt("r-old", TRANSIENT_REFUSED, attempt_no=2, at=ago(minutes=40)),
        attempt("r-new", TRANSIENT_REFUSED, at=ago(minutes=10)),
        attempt("r-404", PERMANENT_404, at=ago(minutes=30)),
        attempt("r-429", RATE_LIMITED, at=ago(minutes=20)),
        attempt("r-fixed", TRANSIENT_503, at=ago(minutes=25)),
        attempt("r-fixed", DELIVERED, attempt_no=2, at=ago(minutes=5)),
        attempt("r-gave-up", TRANSIENT_503, at=ago(minutes=15)),
        attempt("r-gave-up", PERMANENT_404, attempt_no=2, at=ago(minutes=14)),
        attempt("r-ancient", TRANSIENT_503, at=ago(hours=30)),
        attempt("r-other", TRANSIENT_503, tenant="globex", at=ago(minutes=5)),
    ]
    headers = {"X-API-Key": api_keys["operator"]}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        assert (await push(api, api_keys["engineer"], attempts)).status_code == 200
        answer = await api.get(
            "/api/v1/replay/recommendations", params={"tenant": "acme"}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        advice = answer.json()
        ids = [r["verdict"]["delivery_id"] for r in advice["recommendations"]]
        assert ids == ["r-old", "r-new"]  # oldest first; default window: 24 h
        assert all(r["verdict"]["confidence"] > 80 for r in advice["recommendations"])
        assert advice["counts"] == {
            "transient_endpoint_down": 2,
            "permanent_4xx": 2,
            "rate_limited": 1,
            "unknown": 0,
        }
        assert advice["total"] == 2 and advice["confidence_level"] == "high"

        since = ago(minutes=20).isoformat().replace("+00:00", "Z")
        recent = await api.get(
            "/api/v1/replay/recommendations",
            params={"tenant": "acme", "since": since, "limit": 5},
            headers=headers,
        )
        assert [r["verdict"]["delivery_id"] for r in recent.json()["recommendations"]] == ["r-new"]
        capped = await api.get(
            "/api/v1/replay/recommendations",
            params={"tenant": "acme", "limit": 1},
            headers=headers,
        )
        assert capped.json()["total"] == 2 and len(capped.json()["recommendations"]) == 1

        nobody = await api.get(
            "/api/v1/replay/recommendations", params={"tenant": "initech"}, headers=headers
        )
        assert nobody.json()["recommendations"] == []
        assert nobody.json()["confidence_level"] == "none"
        no_tenant = await api.get("/api/v1/replay/recommendations", headers=headers)
        assert no_tenant.status_code == 422 and no_tenant.json()["errors"][0]["field"] == "tenant"
        bad_since = await api.get(
            "/api/v1/replay/recommendations",
            params={"tenant": "acme", "since": "yesterday"},
            headers=headers,
        )
        assert bad_since.status_code == 422 and bad_since.json()["errors"][0]["field"] == "since"


@pytest.fixture
def impatient_api(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("STEWARD_QUERY_TIMEOUT_SECONDS", "1")
    get_settings.cache_clear()
    with serve_app(create_app()) as url:
        yield url
    get_settings.cache_clear()


@pytest.mark.usefixtures("temporal_env")
async def test_no_worker_means_503_not_a_hang(
    impatient_api: str, api_keys: dict[str, str], engine: Engine
) -> None:
    store(engine, [attempt("lonely", TRANSIENT_503)])
    async with httpx.AsyncClient(base_url=impatient_api, timeout=30) as api:
        answer = await api.get(
            "/api/v1/triage/deliveries/lonely", headers={"X-API-Key": api_keys["operator"]}
        )
    assert answer.status_code == 503
    assert "no worker answered triage_deliveries within 1 s" in answer.json()["detail"]
