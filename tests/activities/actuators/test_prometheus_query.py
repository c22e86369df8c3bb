"""prometheus.query against a stand-in speaking Prometheus' instant-query HTTP API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from activities.actuators.registry import ActuatorContext, CheckResult, get_check, parse_params
from api.core.settings import Settings
from bench.harness.servers import free_port, serve_app
from tests.support.kube_api import with_catalog

pytestmark = pytest.mark.asyncio(loop_scope="session")
P95 = "histogram_quantile(0.95, sum by (le) (rate(http_seconds_bucket[5m]))) * 1e3"


def prometheus_app(answers: dict[str, dict[str, Any]], seen: list[str]) -> FastAPI:
    """Answers ``POST /api/v1/query`` from ``answers`` by query text, as Prometheus would."""
    app = FastAPI()

    @app.post("/api/v1/query")
    async def query(request: Request) -> JSONResponse:
        # Prometheus takes the query as a form field of the POST body.
        query = parse_qs((await request.body()).decode())["query"][0]
        seen.append(query)
        if query not in answers:
            error = {"status": "error", "errorType": "bad_data", "error": "parse error"}
            return JSONResponse(error, status_code=400)
        return JSONResponse({"status": "success", "data": answers[query]})

    return app


def vector(*values: float) -> dict[str, Any]:
    result = [{"metric": {"pod": f"p{i}"}, "value": [1.7e9, str(v)]} for i, v in enumerate(values)]
    return {"resultType": "vector", "result": result}


@pytest.fixture
def prometheus(settings: Settings, tmp_path: Path) -> Iterator[tuple[ActuatorContext, list[str]]]:
    answers = {
        P95: vector(180.0),
        "up": vector(1, 1, 0),
        "scalar(1)": {"resultType": "scalar", "result": [1.7e9, "1"]},
        "absent_metric": vector(),
    }
    seen: list[str] = []
    with serve_app(prometheus_app(answers, seen)) as url:
        catalog = {
            "services": {"checkout": {"target": {"kind": "demo"}, "queries": {"p95_ms": P95}}}
        }
        with_settings = with_catalog(settings, catalog, tmp_path)
        with_settings.prometheus_url = url
        yield ActuatorContext(httpx.AsyncClient(), with_settings), seen


async def run(ctx: ActuatorContext, params: dict[str, Any]) -> CheckResult:
    check = get_check("prometheus.query")
    return await check.run(ctx, parse_params(check.params_model, params, "prometheus.query"))


async def test_named_and_literal_queries_compare_with_the_threshold(
    prometheus: tuple[ActuatorContext, list[str]],
) -> None:
    ctx, seen = prometheus
    named = await run(ctx, {"service": "checkout", "query_name": "p95_ms", "threshold": 300})
    assert named.ok and named.observed["values"] == [180.0] and seen == [P95]
    above = await run(ctx, {"service": "checkout", "query_name": "p95_ms", "threshold": 100})
    assert not above.ok and "180 < 100: no" in above.detail
    assert (await run(ctx, {"query": "scalar(1)", "threshold": 1, "op": ">="})).ok
    every = await run(ctx, {"query": "up", "threshold": 1, "op": ">="})
    assert not every.ok and every.observed["values"] == [1.0, 1.0, 0.0]


async def test_no_data_bad_query_unknown_name_and_unreachable_fail(
    prometheus: tuple[ActuatorContext, list[str]],
) -> None:
    ctx, _ = prometheus
    empty = await run(ctx, {"query": "absent_metric", "threshold": 1})
    assert not empty.ok and "no data" in empty.detail
    bad = await run(ctx, {"query": "rate(", "threshold": 1})
    assert not bad.ok and "parse error" in bad.detail
    unknown = await run(ctx, {"service": "checkout", "query_name": "nope", "threshold": 1})
    assert not unknown.ok and "has no query 'nope' (known: p95_ms)" in unknown.detail
    ctx.settings.prometheus_url = f"http://127.0.0.1:{free_port()}"
    down = await run(ctx, {"query": "up", "threshold": 1})
    assert not down.ok and "could not query Prometheus" in down.detail


async def test_params_need_exactly_one_query() -> None:
    model = get_check("prometheus.query").params_model
    with pytest.raises(ValueError, match="exactly one of query and query_name"):
        model.model_validate({"threshold": 1})
    with pytest.raises(ValueError, match="query_name needs the service"):
        model.model_validate({"query_name": "p95_ms", "threshold": 1})
