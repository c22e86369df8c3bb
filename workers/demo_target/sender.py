"""The demo target's webhook sender state: replays performed, at most once per idempotency key.

Pure state, no HTTP (``webhooks.py`` is its admin API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class SentReplay:
    """One replay the sender performed."""

    delivery_id: str
    tenant: str
    endpoint: str
    idempotency_key: str | None
    at: str


@dataclass
class WebhookSender:
    """Replays performed, and which (key, delivery) pairs were already served."""

    sent: list[SentReplay] = field(default_factory=list)
    _served: set[tuple[str, str]] = field(default_factory=set)

    def replay(self, delivery_id: str, tenant: str, endpoint: str, key: str | None) -> str:
        """Send a delivery once per key; return ``replayed`` or ``duplicate``."""
        if key is not None and (key, delivery_id) in self._served:
            return "duplicate"
        if key is not None:
            self._served.add((key, delivery_id))
        at = datetime.now(UTC).isoformat()
        self.sent.append(SentReplay(delivery_id, tenant, endpoint, key, at))
        return "replayed"

    def restore(self, sent: list[SentReplay]) -> None:
        """Take back replays performed before a restart (from the journal)."""
        self.sent = list(sent)
        self._served = {(s.idempotency_key, s.delivery_id) for s in sent if s.idempotency_key}

    def clear(self) -> None:
        """Forget every replay and key."""
        self.sent.clear()
        self._served.clear()
