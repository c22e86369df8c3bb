"""``prometheus.query``: an instant PromQL query compared with a threshold.

The query is given literally (``query``) or by name (``query_name``) from the service's
catalog ``queries``. Every sample of the result must satisfy ``value <op> threshold``; an
empty result fails (no data is not health).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field, model_validator

from activities.actuators.kubernetes.client import catalog_of
from activities.actuators.registry import (
    ActionRefusedError,
    ActuatorContext,
    Check,
    CheckResult,
    check,
)

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class QueryParams(BaseModel):
    """The query (literal or named), and how its value must compare with ``threshold``."""

    service: str | None = Field(default=None, min_length=1, max_length=100)
    query: str | None = Field(default=None, min_length=1, max_length=10000)
    query_name: str | None = Field(default=None, min_length=1, max_length=100)
    threshold: float
    op: Literal["<", "<=", ">", ">="] = "<"

    @model_validator(mode="after")
    def _one_query(self) -> QueryParams:
        if (self.query is None) == (self.query_name is None):
            raise ValueError("give exactly one of query and query_name")
        if self.query_name is not None and self.service is None:
            raise ValueError("query_name needs the service whose catalog queries name it")
        return self


def resolve_query(ctx: ActuatorContext, p: QueryParams) -> str:
    """The PromQL to run: ``query``, or the service's catalog query ``query_name``.

    Raises:
        ActionRefusedError: The service or the named query is unknown.
    """
    if p.query is not None:
        return p.query
    if p.service is None:  # the model's validator requires one of query, service+query_name
        raise ActionRefusedError("give query, or service and query_name")
    try:
        queries = catalog_of(ctx.settings).service(p.service).queries
    except KeyError as exc:
        raise ActionRefusedError(str(exc.args[0])) from None
    if p.query_name not in queries:
        known = ", ".join(sorted(queries)) or "none"
        raise ActionRefusedError(
            f"service {p.service!r} has no query {p.query_name!r} (known: {known})"
        )
    return str(queries[p.query_name])


def samples(body: dict[str, Any]) -> list[tuple[dict[str, str], float]]:
    """The (labels, value) pairs of an instant query's ``vector`` or ``scalar`` result."""
    data = body.get("data") or {}
    if data.get("resultType") == "scalar":
        return [({}, float(data["result"][1]))]
    if data.get("resultType") == "vector":
        return [(dict(s.get("metric") or {}), float(s["value"][1])) for s in data["result"]]
    raise ValueError(f"unexpected result type {data.get('resultType')!r}")


@check("prometheus.query", params=QueryParams)
class PrometheusQuery(Check[QueryParams]):
    """An instant PromQL query's every sample compares with a threshold (``p95 < 300``)."""

    async def run(self, ctx: ActuatorContext, p: QueryParams) -> CheckResult:
        """Query once (at ``settings.prometheus_url``) and compare."""
        try:
            promql = resolve_query(ctx, p)
        except ActionRefusedError as exc:
            return CheckResult(False, {}, str(exc))
        url = ctx.settings.prometheus_url.rstrip("/") + "/api/v1/query"
        try:
            response = await ctx.http.post(url, data={"query": promql})
            body = response.json()
            if response.status_code >= 400 or body.get("status") != "success":
                problem = body.get("error") or f"status {response.status_code}"
                return CheckResult(False, {"query": promql}, f"Prometheus refused: {problem}")
            found = samples(body)
        except (httpx.HTTPError, ValueError, KeyError, TypeError, IndexError) as exc:
            return CheckResult(False, {"query": promql}, f"could not query Prometheus: {exc}")
        compare = OPS[p.op]
        values = [v for _, v in found]
        failing = [v for v in values if math.isnan(v) or not compare(v, p.threshold)]
        ok = bool(values) and not failing
        observed = {"query": promql, "values": values, "threshold": p.threshold, "op": p.op}
        if not values:
            return CheckResult(False, observed, f"no data for {promql!r}")
        shown = ", ".join(f"{v:g}" for v in values)
        return CheckResult(ok, observed, f"{shown} {p.op} {p.threshold:g}: {'yes' if ok else 'no'}")
