"""Notification actuators: the worker log and an outgoing webhook."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, Field

from activities.actuators.http import HttpCallError
from activities.actuators.registry import Actuator, ActuatorContext, actuator
from api.core.settings import Settings

logger = logging.getLogger("steward.notify")


class LogParams(BaseModel):
    """A message for the worker log."""

    message: str = Field(min_length=1, max_length=4000)
    level: str = Field(default="info", pattern="^(info|warning|error)$")


class WebhookParams(BaseModel):
    """A message posted as JSON ``{"text": ...}`` to a webhook URL."""

    url: AnyHttpUrl
    text: str = Field(min_length=1, max_length=4000)


@actuator("notify.log", tier="info", params=LogParams, irreversible=True)
class NotifyLog(Actuator[LogParams]):
    """Write a message to the worker log."""

    def target(self, settings: Settings, p: LogParams) -> str:
        """Notifications target the log."""
        return "log"

    async def apply(self, ctx: ActuatorContext, p: LogParams) -> dict[str, Any]:
        """Log (the logger carries the idempotency key so retries can be spotted)."""
        logger.log(logging.getLevelName(p.level.upper()), "%s [%s]", p.message, ctx.idempotency_key)
        return {"logged": True}


@actuator("notify.webhook", tier="info", params=WebhookParams, irreversible=True)
class NotifyWebhook(Actuator[WebhookParams]):
    """Post a message to a webhook (Slack-compatible ``{"text": ...}`` body)."""

    def target(self, settings: Settings, p: WebhookParams) -> str:
        """The webhook's host."""
        return str(p.url.host)

    async def apply(self, ctx: ActuatorContext, p: WebhookParams) -> dict[str, Any]:
        """Post once; the idempotency key lets the receiver drop retries."""
        response = await ctx.http.post(
            str(p.url), json={"text": p.text}, headers={"Idempotency-Key": ctx.idempotency_key}
        )
        if response.status_code >= 300:
            raise HttpCallError(f"webhook answered {response.status_code}", response.status_code)
        return {"status": response.status_code}
