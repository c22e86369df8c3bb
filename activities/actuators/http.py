"""A generic HTTP actuator for any system with an HTTP admin API."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, BaseModel, Field

from activities.actuators.registry import Actuator, ActuatorContext, actuator
from api.core.settings import Settings


class HttpCallError(RuntimeError):
    """The target answered with a status other than the expected one.

    Attributes:
        status_code: The status the target answered with.
    """

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code

    @property
    def permanent(self) -> bool:
        """A 4xx answer (other than timeouts and rate limits) will not change on retry."""
        return 400 <= self.status_code < 500 and self.status_code not in (408, 429)


class HttpParams(BaseModel):
    """One HTTP request and the status that means success."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: AnyHttpUrl
    body: dict[str, Any] | list[Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    expected_status: int = Field(default=200, ge=100, le=599)


@actuator("http.request", tier="warn", params=HttpParams, irreversible=True)
class HttpRequest(Actuator[HttpParams]):
    """Send one HTTP request and require the expected status (cannot be undone generically)."""

    def target(self, settings: Settings, p: HttpParams) -> str:
        """The host the request goes to."""
        return urlsplit(str(p.url)).netloc

    async def apply(self, ctx: ActuatorContext, p: HttpParams) -> dict[str, Any]:
        """Send the request with the step's idempotency key."""
        headers = {**p.headers, "Idempotency-Key": ctx.idempotency_key}
        response = await ctx.http.request(p.method, str(p.url), json=p.body, headers=headers)
        if response.status_code != p.expected_status:
            raise HttpCallError(
                f"{p.method} {p.url} answered {response.status_code}, "
                f"expected {p.expected_status}: {response.text[:200]}",
                response.status_code,
            )
        return {"status": response.status_code, "body": response.text[:2000]}

    def plan(self, p: HttpParams) -> str:
        """Describe the request."""
        return f"{p.method} {p.url} expecting {p.expected_status}"
