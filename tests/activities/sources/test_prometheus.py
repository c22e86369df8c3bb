"""The prometheus source against the real Prometheus binary: data, NaN/Inf, series, errors."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import create_engine

from activities.sources import (
    FetchWindow,
    SourceContext,
    SourceError,
    fetch_window,
    validate_source,
)
from activities.sources.prometheus import fetch
from api.core.settings import Settings
from bench.harness.servers import free_port, serve_app
from tests.support.prometheus import run_prometheus, wait_for_samples

pytestmark = pytest.mark.asyncio(loop_scope="session")

TWO_SERIES = (
    'label_replace(vector(1), "side", "left", "", "") '
    'or label_replace(vector(0) / 0, "side", "right", "", "")'
)


@pytest.fixture(scope="module")
def prometheus(demo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    target = urlparse(demo_url).netloc
    with run_prometheus(tmp_path_factory.mktemp("prometheus"), [target]) as url:
        wait_for_samples(url, "demo_p95_latency_seconds", 3)
        yield url


def context(url: str, http: httpx.AsyncClient) -> SourceContext:
    # The prometheus source never touches the database; an in-memory engine satisfies the type.
    return SourceContext(Settings(prometheus_url=url), http, create_engine("sqlite://"))


def config(query: str, **extra: Any) -> dict[str, Any]:
    return validate_source({"kind": "prometheus", "query": query, "step_seconds": 1, **extra}, 60)


def last_seconds(seconds: int) -> FetchWindow:
    end = float(math.ceil(time.time()))
    return FetchWindow(end - seconds, end)


async def test_a_scraped_metric_comes_back_as_one_labelled_series(
    prometheus: str, http: httpx.AsyncClient
) -> None:
    window, series = await fetch_window(
        context(prometheus, http), config("demo_p95_latency_seconds"), 30, time.time()
    )
    assert window.end >= time.time() - 1 and window.end - window.start == 30
    assert len(series) == 1
    assert series[0].labels["__name__"] == "demo_p95_latency_seconds"
    assert series[0].labels["job"] == "demo"
    assert len(series[0]) >= 3
    assert all(
        b - a == pytest.approx(1.0)
        for a, b in zip(series[0].timestamps, series[0].timestamps[1:], strict=False)
    )
    # Latencies in seconds; other tests may have left a fault on the shared demo target.
    assert all(math.isfinite(value) and value > 0 for value in series[0].values)
    assert series[0].non_finite == 0


@pytest.mark.parametrize("query", ["vector(0) / 0", "vector(1) / 0", "vector(-1) / 0"])
async def test_nan_and_infinities_become_missing_points(
    prometheus: str, http: httpx.AsyncClient, query: str
) -> None:
    [series] = await fetch(context(prometheus, http), config(query), last_seconds(5))
    assert len(series) == 6
    assert all(math.isnan(value) for value in series.values)
    assert series.non_finite == 6


async def test_an_empty_answer_is_no_series(prometheus: str, http: httpx.AsyncClient) -> None:
    assert await fetch(context(prometheus, http), config("no_such_metric"), last_seconds(5)) == []


async def test_every_series_is_returned_and_match_picks_some(
    prometheus: str, http: httpx.AsyncClient
) -> None:
    both = await fetch(context(prometheus, http), config(TWO_SERIES), last_seconds(3))
    assert sorted(s.labels["side"] for s in both) == ["left", "right"]
    left = await fetch(
        context(prometheus, http), config(TWO_SERIES, match={"side": "left"}), last_seconds(3)
    )
    assert [s.labels for s in left] == [{"side": "left"}]
    assert left[0].values == [1.0] * 4


async def test_more_series_than_allowed_is_a_configuration_error(
    prometheus: str, http: httpx.AsyncClient
) -> None:
    with pytest.raises(SourceError) as raised:
        await fetch(context(prometheus, http), config(TWO_SERIES, max_series=1), last_seconds(3))
    assert not raised.value.retryable and raised.value.kind == "TooManySeries"
    assert "2 series" in raised.value.message


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("rate(", "parse error"),
        ("vector(1) + on() " + f"({TWO_SERIES})", "many-to-many matching not allowed"),
    ],
)
async def test_a_query_prometheus_rejects_is_not_retried_and_keeps_its_message(
    prometheus: str, http: httpx.AsyncClient, query: str, words: str
) -> None:
    with pytest.raises(SourceError) as raised:
        await fetch(context(prometheus, http), config(query), last_seconds(3))
    assert not raised.value.retryable and raised.value.kind == "BadQuery"
    assert words in raised.value.message


async def test_an_unreachable_prometheus_is_retryable(http: httpx.AsyncClient) -> None:
    with pytest.raises(SourceError) as raised:
        await fetch(context(f"http://127.0.0.1:{free_port()}", http), config("up"), last_seconds(3))
    assert raised.value.retryable and raised.value.kind == "SourceUnavailable"
    assert "unreachable" in raised.value.message


@pytest.fixture(scope="module")
def failing_upstream() -> Iterator[str]:
    """An HTTP server in front of nothing: 503 like an overloaded Prometheus or its proxy."""
    app = FastAPI()

    @app.post("/overloaded/api/v1/query_range")
    async def overloaded() -> JSONResponse:
        return JSONResponse({"status": "error", "error": "too many queries"}, status_code=503)

    @app.post("/wrong/api/v1/query_range")
    async def wrong() -> PlainTextResponse:
        return PlainTextResponse("not found", status_code=404)

    @app.post("/html/api/v1/query_range")
    async def html() -> PlainTextResponse:
        return PlainTextResponse("<html>login</html>")

    with serve_app(app) as url:
        yield url


async def test_a_5xx_is_retryable_a_404_is_not(
    failing_upstream: str, http: httpx.AsyncClient
) -> None:
    with pytest.raises(SourceError) as overloaded:
        await fetch(context(f"{failing_upstream}/overloaded", http), config("up"), last_seconds(3))
    assert overloaded.value.retryable and "503" in overloaded.value.message
    assert "too many queries" in overloaded.value.message
    with pytest.raises(SourceError) as wrong:
        await fetch(context(f"{failing_upstream}/wrong", http), config("up"), last_seconds(3))
    assert not wrong.value.retryable and wrong.value.kind == "SourceMisconfigured"
    with pytest.raises(SourceError) as html:
        await fetch(context(f"{failing_upstream}/html", http), config("up"), last_seconds(3))
    assert html.value.retryable and "JSON" in html.value.message
