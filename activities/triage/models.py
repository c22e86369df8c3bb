"""Webhook delivery attempts and the verdicts triage gives them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Category(StrEnum):
    """Why a delivery failed, and so whether replaying it is safe."""

    TRANSIENT_ENDPOINT_DOWN = "transient_endpoint_down"
    PERMANENT_4XX = "permanent_4xx"
    RATE_LIMITED = "rate_limited"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DeliveryAttempt:
    """One attempt to deliver a webhook.

    Attributes:
        id: The delivery's id; every attempt of one delivery shares it.
        tenant: Who the webhook belongs to.
        endpoint: The receiver's URL.
        status_code: HTTP status of the response, ``None`` when none arrived.
        error_text: The exception message or response body the sender recorded.
        response_headers: Response headers (names are matched case-insensitively).
        attempt: Attempt number, from 1.
        timestamp: When the attempt was made (timezone-aware preferred).
    """

    id: str
    tenant: str
    endpoint: str
    status_code: int | None
    error_text: str
    response_headers: dict[str, str] = field(default_factory=dict)
    attempt: int = 1
    timestamp: datetime | None = None

    @property
    def failed(self) -> bool:
        """Whether the attempt failed: no response, a status of 400 or more, or a 1xx/3xx."""
        return self.status_code is None or not 200 <= self.status_code < 300


@dataclass(frozen=True)
class TriageResult:
    """The verdict on one attempt.

    Attributes:
        category: The failure category.
        confidence: 0-100; how strongly the signals support the category.
        reason: The rule that decided, with the signals it saw.
        recommended_action: What to do with the delivery.
        retry_after_seconds: The wait the receiver asked for, when it said.
        signals: Every signal found, for audit.
    """

    category: Category
    confidence: int
    reason: str
    recommended_action: str
    retry_after_seconds: float | None = None
    signals: tuple[str, ...] = ()

    @property
    def safe_to_replay(self) -> bool:
        """Only a confidently transient failure is safe to replay automatically."""
        return self.category is Category.TRANSIENT_ENDPOINT_DOWN and self.confidence > 80
