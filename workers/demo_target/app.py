"""HTTP shell around the demo target: Prometheus metrics, a work endpoint and an admin API.

Mutating admin calls (scale, restart, cache purge, flags) honour an ``Idempotency-Key`` header:
the first call applies and stores its response; a retry with the same key and body gets the stored
response with ``Idempotent-Replayed: true``; the same key with another body gets 409. Fault
injection, reset and the read endpoints are test controls: not idempotency-keyed and not logged.
Run as a process (``python -m workers.demo_target``), it keeps keys, action log and state in
``STEWARD_HOME/demo_target.db`` across restarts, SIGKILL included (:mod:`.journal`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel, ConfigDict, Field

from workers.demo_target.model import (
    MAX_REPLICAS,
    MIN_REPLICAS,
    DemoTarget,
    IdempotencyConflictError,
    StoredResponse,
    request_fingerprint,
)
from workers.demo_target.webhooks import webhooks

# The work endpoint sleeps half the p95; the cap keeps a huge injected latency from hanging clients.
MAX_WORK_SLEEP_SECONDS = 2.0
REPLAYED_HEADER = "Idempotent-Replayed"


class ScaleRequest(BaseModel):
    """Body of ``POST /admin/scale``."""

    model_config = ConfigDict(extra="forbid")
    replicas: int = Field(strict=True, ge=MIN_REPLICAS, le=MAX_REPLICAS)


class FlagRequest(BaseModel):
    """Body of ``PUT /admin/flags/{name}``."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(strict=True)


class FaultsUpdate(BaseModel):
    """Body of ``POST /admin/faults``; omitted fields keep their current value."""

    model_config = ConfigDict(extra="forbid")
    latency_ms: float | None = Field(default=None, ge=0)
    error_rate: float | None = Field(default=None, ge=0, le=1)
    cache_poisoned: bool | None = None
    admin_delay_ms: float | None = Field(default=None, ge=0)


class DemoCollector(Collector):
    """Exposes the derived metrics of a :class:`DemoTarget` at scrape time."""

    def __init__(self, target: DemoTarget) -> None:
        self._target = target

    def collect(self) -> Iterator[Metric]:
        """Yield one family per demo metric, read from the current state."""
        state = self._target.state
        metrics = state.metrics()
        gauges = {
            "demo_request_rate": ("Requests per second served.", metrics.request_rate),
            "demo_error_rate": ("Fraction of requests that fail.", metrics.error_rate),
            "demo_p95_latency_seconds": ("95th percentile latency.", metrics.p95_latency_seconds),
            "demo_replicas": ("Running replicas.", float(state.replicas)),
            "demo_cache_hit_ratio": ("Cache hit ratio.", metrics.cache_hit_ratio),
        }
        for name, (documentation, value) in gauges.items():
            yield GaugeMetricFamily(name, documentation, value=value)
        yield CounterMetricFamily("demo_restarts", "Restarts performed.", value=state.restarts)
        yield CounterMetricFamily(
            "demo_cache_purges", "Cache purges performed.", value=state.cache_purges
        )


def get_target(request: Request) -> DemoTarget:
    """Return the demo target held by the running app."""
    target: DemoTarget = request.app.state.demo
    return target


Target = Annotated[DemoTarget, Depends(get_target)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


async def apply_idempotently(
    target: DemoTarget,
    action: str,
    body: dict[str, Any],
    key: str | None,
    apply: Callable[[], dict[str, Any]],
) -> Response:
    """Apply a mutation at most once per idempotency key and return its response."""
    fingerprint = request_fingerprint(action, body)
    if key is not None:
        try:
            stored = target.idempotency.replay(key, fingerprint)
        except IdempotencyConflictError as conflict:
            raise HTTPException(status_code=409, detail=str(conflict)) from conflict
        if stored is not None:
            return JSONResponse(
                stored.body, status_code=stored.status_code, headers={REPLAYED_HEADER: "true"}
            )
    result = apply()
    # Stored (durably) before the delay: a client killed during the delay must get a replay on
    # retry, even from a demo target restarted meanwhile.
    target.record_action(action, body, key, StoredResponse(fingerprint, 200, result))
    delay_ms = target.state.faults.admin_delay_ms
    if delay_ms > 0:
        await asyncio.sleep(delay_ms / 1000)
    return JSONResponse(result)


admin = APIRouter(prefix="/admin", tags=["admin"])


@admin.get("/state")
async def read_state(target: Target) -> dict[str, Any]:
    """Return replicas, faults, flags, counters and derived metrics."""
    return target.state.to_dict()


@admin.post("/scale")
async def scale(body: ScaleRequest, target: Target, idempotency_key: IdempotencyKey = None) -> Any:
    """Set the replica count."""

    def apply() -> dict[str, Any]:
        previous = target.state.scale(body.replicas)
        return {"replicas": body.replicas, "previous": previous}

    return await apply_idempotently(target, "scale", body.model_dump(), idempotency_key, apply)


@admin.post("/restart")
async def restart(target: Target, idempotency_key: IdempotencyKey = None) -> Any:
    """Restart the service, which clears the error-rate fault."""
    return await apply_idempotently(
        target, "restart", {}, idempotency_key, lambda: {"restarts": target.state.restart()}
    )


@admin.post("/cache/purge")
async def purge_cache(target: Target, idempotency_key: IdempotencyKey = None) -> Any:
    """Purge the cache, which clears cache poisoning."""
    return await apply_idempotently(
        target,
        "cache_purge",
        {},
        idempotency_key,
        lambda: {"cache_purges": target.state.purge_cache()},
    )


@admin.put("/flags/{name}")
async def set_flag(
    name: str, body: FlagRequest, target: Target, idempotency_key: IdempotencyKey = None
) -> Any:
    """Turn a feature flag on or off; ``previous`` is null for a flag never seen before."""

    def apply() -> dict[str, Any]:
        previous = target.state.set_flag(name, body.enabled)
        return {"name": name, "enabled": body.enabled, "previous": previous}

    logged_body = {"name": name, "enabled": body.enabled}
    return await apply_idempotently(target, "set_flag", logged_body, idempotency_key, apply)


@admin.post("/faults")
async def inject_faults(body: FaultsUpdate, target: Target) -> dict[str, Any]:
    """Change only the faults present in the body; return the new state."""
    target.state.update_faults(body.model_dump(exclude_none=True))
    target.save_state()
    return target.state.to_dict()


@admin.delete("/faults")
async def clear_faults(target: Target) -> dict[str, Any]:
    """Remove every injected fault; return the new state."""
    target.state.clear_faults()
    target.save_state()
    return target.state.to_dict()


@admin.post("/reset")
async def reset(target: Target) -> dict[str, Any]:
    """Back to defaults; idempotency keys and the action log are forgotten too."""
    target.reset()
    return target.state.to_dict()


@admin.get("/actions")
async def list_actions(target: Target) -> list[dict[str, Any]]:
    """Return the applied mutations in order (replays are not applied, so not listed)."""
    return [asdict(action) for action in target.actions]


def create_app(target: DemoTarget | None = None) -> FastAPI:
    """Build the demo target app around ``target`` (a fresh one by default)."""
    demo = target or DemoTarget()
    app = FastAPI(title="Steward demo target", version="1.0")
    app.state.demo = demo
    registry = CollectorRegistry(auto_describe=True)
    registry.register(DemoCollector(demo))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(content=generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/")
    async def work() -> Response:
        """Serve one request: as slow and as failure-prone as the faults say."""
        derived = demo.state.metrics()
        await asyncio.sleep(min(derived.p95_latency_seconds / 2, MAX_WORK_SLEEP_SECONDS))
        if random.random() < derived.error_rate:
            return JSONResponse({"status": "error"}, status_code=500)
        return JSONResponse({"status": "ok"})

    app.include_router(admin)
    app.include_router(webhooks)
    return app


app = create_app()
