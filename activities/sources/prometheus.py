"""The ``prometheus`` source: a PromQL range query against the Prometheus HTTP API.

Settings: ``{"kind": "prometheus", "query": "...", "step_seconds": 15, "match": {...},
"max_series": 20}``. The server is ``STEWARD_PROMETHEUS_URL``. Every series of the answer is
scored (``match`` keeps only the series whose labels have those values); more than
``max_series`` series is a configuration error, because scoring hundreds of series every run is
almost always a query that forgot to aggregate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import httpx

from activities.sources.base import (
    FetchWindow,
    SeriesPoints,
    SourceConfigError,
    SourceContext,
    SourceError,
    SourceKind,
    positive_int,
    reject_unknown,
    required_text,
)

# Prometheus refuses range queries with more points per series than this.
MAX_POINTS = 11_000
DEFAULT_STEP_SECONDS = 15
DEFAULT_MAX_SERIES = 20
_KNOWN = {"query", "step_seconds", "match", "max_series"}
# Statuses that may pass: timeouts, throttling, overload, a restarting server or proxy.
_RETRYABLE_CLIENT_STATUSES = {408, 425, 429}


def validate(config: Mapping[str, Any], window_seconds: int) -> dict[str, Any]:
    """Check and normalise prometheus settings.

    Raises:
        SourceConfigError: Naming the setting at fault.
    """
    reject_unknown(config, _KNOWN)
    query = required_text(config, "query")
    step = positive_int(config, "step_seconds", DEFAULT_STEP_SECONDS, 86_400)
    if step > window_seconds:
        raise SourceConfigError(
            "step_seconds", f"{step} is longer than the window ({window_seconds} s)"
        )
    if window_seconds // step + 1 > MAX_POINTS:
        raise SourceConfigError(
            "step_seconds",
            f"a {window_seconds} s window at {step} s steps is {window_seconds // step + 1} "
            f"points; Prometheus answers at most {MAX_POINTS} per series",
        )
    match = config.get("match", {})
    if not isinstance(match, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in match.items()
    ):
        raise SourceConfigError("match", "must be an object of label name -> label value")
    max_series = positive_int(config, "max_series", DEFAULT_MAX_SERIES, 500)
    return {
        "kind": "prometheus",
        "query": query,
        "step_seconds": step,
        "match": dict(match),
        "max_series": max_series,
    }


def align_end(config: Mapping[str, Any], now: float) -> float:
    """Put the window's end on the step grid, at the first grid point not before ``now``.

    Prometheus evaluates each grid point with the newest sample at or before it, so the point
    at or just after ``now`` already holds the latest scrape, and every run inside one step
    sees the same timestamp for it (which is what makes its evidence deduplicate).
    """
    step = int(config.get("step_seconds", DEFAULT_STEP_SECONDS))
    return float(math.ceil(now / step) * step)


def _number(raw: Any) -> float:
    value = float(raw)  # Prometheus sends "NaN", "+Inf" and "-Inf" as strings too
    return value if math.isfinite(value) else math.nan


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict) and body.get("error"):
        return f"{body.get('errorType', 'error')}: {body['error']}"
    return response.text.strip()[:500]


def parse_matrix(body: Any, config: Mapping[str, Any]) -> list[SeriesPoints]:
    """Turn a ``query_range`` answer into series, keeping those that ``match`` selects.

    Raises:
        SourceError: Non-retryable, when the answer has too many series or is not a matrix.
    """
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        kind = data.get("resultType") if isinstance(data, dict) else None
        raise SourceError(
            f"Prometheus answered {kind or 'something'} instead of a matrix",
            retryable=False,
            kind="BadQuery",
        )
    match: Mapping[str, str] = config.get("match", {})
    found: list[SeriesPoints] = []
    for item in data.get("result", []):
        labels = {str(k): str(v) for k, v in item.get("metric", {}).items()}
        if any(labels.get(name) != value for name, value in match.items()):
            continue
        series = SeriesPoints(labels)
        for timestamp, raw in item.get("values", []):
            value = _number(raw)
            series.non_finite += math.isnan(value)
            series.timestamps.append(float(timestamp))
            series.values.append(value)
        found.append(series)
    limit = int(config.get("max_series", DEFAULT_MAX_SERIES))
    if len(found) > limit:
        raise SourceError(
            f"the query returned {len(found)} series, more than max_series {limit}: aggregate "
            "it (e.g. max by (service) (...)) or narrow it with match",
            retryable=False,
            kind="TooManySeries",
        )
    return found


async def fetch(
    context: SourceContext, config: Mapping[str, Any], window: FetchWindow
) -> list[SeriesPoints]:
    """Run the range query over ``window`` and return its series.

    Raises:
        SourceError: Retryable when Prometheus is unreachable, times out or answers 5xx;
            non-retryable with Prometheus' own message when it rejects the query (400, 422).
    """
    settings = context.settings
    url = settings.prometheus_url.rstrip("/") + "/api/v1/query_range"
    timeout = settings.prometheus_timeout_seconds
    form = {
        "query": str(config["query"]),
        "start": f"{window.start:.3f}",
        "end": f"{window.end:.3f}",
        "step": str(config.get("step_seconds", DEFAULT_STEP_SECONDS)),
        "timeout": f"{timeout:g}s",
    }
    try:
        # POST with a form body: long queries do not fit in a URL.
        response = await context.http.post(url, data=form, timeout=timeout + 1.0)
    except httpx.TransportError as exc:
        raise SourceError(
            f"Prometheus at {settings.prometheus_url} is unreachable: {type(exc).__name__}: {exc}",
            retryable=True,
            kind="SourceUnavailable",
        ) from exc
    if response.status_code in (400, 422):
        raise SourceError(
            f"Prometheus rejected the query ({response.status_code} {_error_message(response)})",
            retryable=False,
            kind="BadQuery",
        )
    if response.status_code >= 400:
        retryable = (
            response.status_code >= 500 or response.status_code in _RETRYABLE_CLIENT_STATUSES
        )
        raise SourceError(
            f"Prometheus at {settings.prometheus_url} answered {response.status_code}: "
            f"{_error_message(response)}",
            retryable=retryable,
            kind="SourceUnavailable" if retryable else "SourceMisconfigured",
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise SourceError(
            f"Prometheus at {settings.prometheus_url} did not answer JSON",
            retryable=True,
            kind="SourceUnavailable",
        ) from exc
    if not isinstance(body, dict) or body.get("status") != "success":
        raise SourceError(
            f"Prometheus query failed: {_error_message(response)}",
            retryable=False,
            kind="BadQuery",
        )
    return parse_matrix(body, config)


PROMETHEUS = SourceKind("prometheus", validate, fetch, align_end)
