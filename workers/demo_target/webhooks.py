"""The demo target's webhook sender: replays failed deliveries on request and records them.

``POST /admin/webhooks/replay`` replays each delivery at most once per ``Idempotency-Key``: a
delivery already replayed under the key is answered ``duplicate`` and not sent again, so a
retried bulk replay (same key, same or a different batch) never sends anything twice. Nothing
goes over the network: the demo records what a real sender would have sent.
``GET /admin/webhooks/replays`` lists the replays, ``?key=`` filters by key.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field

from workers.demo_target.sender import WebhookSender


class ReplayItem(BaseModel):
    """One delivery to send again."""

    model_config = ConfigDict(extra="ignore")
    delivery_id: str = Field(min_length=1, max_length=200)
    tenant: str = Field(min_length=1, max_length=200)
    endpoint: str = Field(min_length=1, max_length=2000)
    attempt: int | None = Field(default=None, ge=1)


class ReplayRequest(BaseModel):
    """Body of ``POST /admin/webhooks/replay``."""

    model_config = ConfigDict(extra="forbid")
    deliveries: list[ReplayItem] = Field(min_length=1, max_length=1000)


def get_sender(request: Request) -> WebhookSender:
    """Return the sender of the running demo target."""
    sender: WebhookSender = request.app.state.demo.webhooks
    return sender


Sender = Annotated[WebhookSender, Depends(get_sender)]
webhooks = APIRouter(prefix="/admin/webhooks", tags=["webhooks"])


@webhooks.post("/replay")
async def replay(
    body: ReplayRequest,
    sender: Sender,
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """Replay each delivery at most once per idempotency key; answer per delivery."""
    already_sent = len(sender.sent)
    results = [
        {
            "delivery_id": item.delivery_id,
            "status": sender.replay(item.delivery_id, item.tenant, item.endpoint, idempotency_key),
        }
        for item in body.deliveries
    ]
    request.app.state.demo.record_replays(sender.sent[already_sent:])
    # The demo's admin delay applies here too: recorded first, answered late, so tests can
    # make a caller time out after the replay happened.
    delay_ms = request.app.state.demo.state.faults.admin_delay_ms
    if delay_ms > 0:
        await asyncio.sleep(delay_ms / 1000)
    return {"results": results}


@webhooks.get("/replays")
async def list_replays(sender: Sender, key: str | None = None) -> list[dict[str, Any]]:
    """Return the replays performed, in order, optionally only those under one key."""
    return [asdict(s) for s in sender.sent if key is None or s.idempotency_key == key]
