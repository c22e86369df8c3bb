"""Actuators and checks for the demo target's admin API (see ``workers/demo_target``)."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, Field

from activities.actuators.diff import field_changes
from activities.actuators.registry import (
    Actuator,
    ActuatorContext,
    Check,
    CheckResult,
    actuator,
    check,
)


class ServiceParams(BaseModel):
    """Parameters shared by every demo action: which service to act on."""

    service: str = Field(default="demo", min_length=1, max_length=100)


class ScaleParams(ServiceParams):
    """Set the replica count."""

    replicas: int = Field(ge=1, le=50)


class FlagParams(ServiceParams):
    """Set a feature flag."""

    flag: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    enabled: bool


class P95Params(ServiceParams):
    """Healthy when the p95 latency is below ``threshold_ms``."""

    threshold_ms: float = Field(gt=0)


class ErrorRateParams(ServiceParams):
    """Healthy when the error rate is below ``max_ratio``."""

    max_ratio: float = Field(ge=0, le=1)


async def admin_call(
    ctx: ActuatorContext, service: str, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Call the target's admin API with the step's idempotency key; raise on HTTP errors."""
    url = ctx.settings.target_url(service) + path
    headers = {"Idempotency-Key": ctx.idempotency_key} if ctx.idempotency_key else {}
    response = await ctx.http.request(method, url, json=body, headers=headers)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def read_metrics(ctx: ActuatorContext, service: str) -> dict[str, float]:
    """Scrape the target's ``/metrics`` and return its sample values by name."""
    response = await ctx.http.get(ctx.settings.target_url(service) + "/metrics")
    response.raise_for_status()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


@actuator("demo.scale", tier="warn", params=ScaleParams)
class Scale(Actuator[ScaleParams]):
    """Scale the service to a replica count; undo restores the previous count."""

    async def snapshot(self, ctx: ActuatorContext, p: ScaleParams) -> dict[str, Any]:
        """Record the current replica count."""
        state = await admin_call(ctx, p.service, "GET", "/admin/state")
        return {"replicas": state["replicas"]}

    async def diff(self, ctx: ActuatorContext, p: ScaleParams) -> list[dict[str, Any]]:
        """The replica count now and after (read from the target, nothing written)."""
        before = await self.snapshot(ctx, p)
        return field_changes(before, {"replicas": p.replicas})

    async def apply(self, ctx: ActuatorContext, p: ScaleParams) -> dict[str, Any]:
        """Set the replica count."""
        return await admin_call(ctx, p.service, "POST", "/admin/scale", {"replicas": p.replicas})

    async def undo(
        self, ctx: ActuatorContext, p: ScaleParams, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Restore the recorded replica count."""
        body = {"replicas": int(before["replicas"])}
        return await admin_call(ctx, p.service, "POST", "/admin/scale", body)


@actuator("demo.restart", tier="critical", params=ServiceParams, irreversible=True)
class Restart(Actuator[ServiceParams]):
    """Restart the service (drops in-flight requests; cannot be undone)."""

    async def apply(self, ctx: ActuatorContext, p: ServiceParams) -> dict[str, Any]:
        """Restart."""
        return await admin_call(ctx, p.service, "POST", "/admin/restart", {})


@actuator("demo.purge_cache", tier="warn", params=ServiceParams, irreversible=True)
class PurgeCache(Actuator[ServiceParams]):
    """Purge the service's cache (the purged entries cannot be restored)."""

    async def apply(self, ctx: ActuatorContext, p: ServiceParams) -> dict[str, Any]:
        """Purge."""
        return await admin_call(ctx, p.service, "POST", "/admin/cache/purge", {})


@actuator("demo.feature_flag", tier="warn", params=FlagParams)
class FeatureFlag(Actuator[FlagParams]):
    """Turn a feature flag on or off; undo restores its previous value."""

    async def snapshot(self, ctx: ActuatorContext, p: FlagParams) -> dict[str, Any]:
        """Record the flag's current value (None when the flag did not exist)."""
        state = await admin_call(ctx, p.service, "GET", "/admin/state")
        return {"enabled": state["flags"].get(p.flag)}

    async def diff(self, ctx: ActuatorContext, p: FlagParams) -> list[dict[str, Any]]:
        """The flag now and after (read from the target, nothing written)."""
        before = await self.snapshot(ctx, p)
        return field_changes({"flags": {p.flag: before["enabled"]}}, {"flags": {p.flag: p.enabled}})

    async def apply(self, ctx: ActuatorContext, p: FlagParams) -> dict[str, Any]:
        """Set the flag."""
        return await admin_call(
            ctx, p.service, "PUT", f"/admin/flags/{p.flag}", {"enabled": p.enabled}
        )

    async def undo(
        self, ctx: ActuatorContext, p: FlagParams, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Restore the previous value (a flag that did not exist is turned off)."""
        body = {"enabled": bool(before.get("enabled"))}
        return await admin_call(ctx, p.service, "PUT", f"/admin/flags/{p.flag}", body)


@check("demo.p95_below", params=P95Params)
class P95Below(Check[P95Params]):
    """The service's p95 latency is below a threshold."""

    async def run(self, ctx: ActuatorContext, p: P95Params) -> CheckResult:
        """Scrape once and compare."""
        try:
            p95_ms = (await read_metrics(ctx, p.service))["demo_p95_latency_seconds"] * 1000
        except (httpx.HTTPError, KeyError) as exc:
            return CheckResult(False, {}, f"could not read p95 latency: {exc}")
        ok = p95_ms < p.threshold_ms
        return CheckResult(ok, {"p95_ms": p95_ms}, f"p95 {p95_ms:.0f} ms vs {p.threshold_ms} ms")


@check("demo.error_rate_below", params=ErrorRateParams)
class ErrorRateBelow(Check[ErrorRateParams]):
    """The service's error ratio is below a threshold."""

    async def run(self, ctx: ActuatorContext, p: ErrorRateParams) -> CheckResult:
        """Scrape once and compare."""
        try:
            ratio = (await read_metrics(ctx, p.service))["demo_error_rate"]
        except (httpx.HTTPError, KeyError) as exc:
            return CheckResult(False, {}, f"could not read the error rate: {exc}")
        ok = ratio < p.max_ratio
        return CheckResult(ok, {"error_rate": ratio}, f"error rate {ratio:.3f} vs {p.max_ratio}")
