"""Bulk replay of failed webhook deliveries through the target's webhook-sender admin API.

The sender's contract (the demo target implements it): ``POST {target}/admin/webhooks/replay``
with ``Idempotency-Key: <request id>`` and ``{"deliveries": [{"delivery_id", "tenant",
"endpoint", "attempt"}]}`` replays each delivery at most once per key and answers
``{"results": [{"delivery_id", "status": "replayed" | "duplicate" | "failed", "error"?}]}``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from activities.actuators.registry import (
    Actuator,
    ActuatorContext,
    Check,
    CheckResult,
    InvalidParametersError,
    actuator,
    check,
)
from activities.deliveries.replays import claim, outstanding, record, report

REPLAY_PATH = "/admin/webhooks/replay"


class ReplayParams(BaseModel):
    """Replay a tenant's safely replayable deliveries that failed since ``since``."""

    service: str = Field(default="demo", min_length=1, max_length=100)
    tenant: str = Field(min_length=1, max_length=200)
    since: AwareDatetime
    max_deliveries: int = Field(default=100, ge=1, le=1000)


class ReplayedParams(BaseModel):
    """Every safe delivery of these tenants that failed in ``[since, until]`` was replayed."""

    tenants: list[str] = Field(min_length=1, max_length=50)
    since: AwareDatetime
    until: AwareDatetime


@actuator("webhooks.replay", tier="warn", params=ReplayParams, irreversible=True)
class ReplayDeliveries(Actuator[ReplayParams]):
    """Replay a tenant's transient delivery failures (confidence > 80); sent webhooks stay sent.

    Tier ``warn``: it only resends what the advisor judged transient (never a permanent or
    rate-limited failure), each delivery at most once per request, and receivers must accept
    a webhook twice anyway; but it reaches customers' endpoints and cannot be recalled, so it
    is gated like any change and needs approval where policy says warn does (production).
    """

    async def apply(self, ctx: ActuatorContext, p: ReplayParams) -> dict[str, Any]:
        """Claim, send and record; a retry with the same key sends nothing twice."""
        request_id = ctx.idempotency_key
        if not request_id:
            # Without a key "at most once per request" would mean nothing.
            raise InvalidParametersError("webhooks.replay needs the step's idempotency key")
        engine = ctx.app_database()
        batch = await asyncio.to_thread(
            claim, engine, request_id, p.tenant, p.since, p.max_deliveries
        )
        if batch.to_send:
            response = await ctx.http.post(
                ctx.settings.target_url(p.service) + REPLAY_PATH,
                json={"deliveries": batch.to_send},
                headers={"Idempotency-Key": request_id},
            )
            response.raise_for_status()
            answers = list(response.json().get("results", []))
            await asyncio.to_thread(record, engine, request_id, answers, response.status_code)
        result = await asyncio.to_thread(report, engine, batch)
        return {"tenant": p.tenant, "since": p.since.isoformat(), **result}

    def plan(self, p: ReplayParams) -> str:
        """Describe the replay."""
        return (
            f"replay up to {p.max_deliveries} transient failures of tenant {p.tenant} "
            f"since {p.since.isoformat()} through {p.service}"
        )


@check("webhooks.replayed", params=ReplayedParams)
class Replayed(Check[ReplayedParams]):
    """Every safely replayable delivery that failed before ``until`` has been replayed."""

    async def run(self, ctx: ActuatorContext, p: ReplayedParams) -> CheckResult:
        """Count, per tenant, the recommended deliveries no request replayed yet."""
        engine = ctx.app_database()

        def left() -> dict[str, list[str]]:
            return {t: outstanding(engine, t, p.since, p.until) for t in p.tenants}

        missing = await asyncio.to_thread(left)
        total = sum(len(ids) for ids in missing.values())
        observed = {
            "outstanding": {t: len(ids) for t, ids in missing.items()},
            "sample": [d for ids in missing.values() for d in ids][:10],
        }
        detail = (
            "every safe delivery was replayed"
            if total == 0
            else f"{total} safe deliveries not replayed yet"
        )
        return CheckResult(total == 0, observed, detail)
