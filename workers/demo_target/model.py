"""Pure state of the demo target: replicas, injected faults, flags, idempotency and action log.

Nothing here knows about HTTP. The FastAPI app in ``app.py`` is a thin shell around
:class:`DemoTarget`, so the arithmetic that tests and detectors rely on can be checked directly.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workers.demo_target.journal import DemoJournal
from workers.demo_target.sender import SentReplay, WebhookSender

MIN_REPLICAS = 1
MAX_REPLICAS = 50
DEFAULT_REPLICAS = 2
BASE_LATENCY_MS = 40.0
REQUESTS_PER_REPLICA = 50.0
HEALTHY_CACHE_HIT_RATIO = 0.92
POISONED_CACHE_HIT_RATIO = 0.2


def default_flags() -> dict[str, bool]:
    """Return the feature flags a fresh demo target starts with."""
    return {"new_checkout": False}


@dataclass
class Faults:
    """Faults injected by tests and demos.

    Attributes:
        latency_ms: Extra latency spread over the replicas (scaling out divides it).
        error_rate: Fraction of requests that fail, 0..1.
        cache_poisoned: Whether the cache serves junk (drops the hit ratio).
        admin_delay_ms: Pause after an admin mutation is applied and stored, before the
            response is sent; lets tests kill a client mid-apply.
    """

    latency_ms: float = 0.0
    error_rate: float = 0.0
    cache_poisoned: bool = False
    admin_delay_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if self.admin_delay_ms < 0:
            raise ValueError("admin_delay_ms must be >= 0")


@dataclass(frozen=True)
class Metrics:
    """Values derived deterministically from the state; what ``/metrics`` exposes."""

    p95_latency_seconds: float
    error_rate: float
    request_rate: float
    cache_hit_ratio: float


@dataclass
class DemoState:
    """The service's observable state and the mutations actuators may apply to it."""

    replicas: int = DEFAULT_REPLICAS
    faults: Faults = field(default_factory=Faults)
    flags: dict[str, bool] = field(default_factory=default_flags)
    restarts: int = 0
    cache_purges: int = 0

    def metrics(self) -> Metrics:
        """Derive the metrics: injected latency is shared by the replicas."""
        latency_ms = BASE_LATENCY_MS + self.faults.latency_ms * 2 / self.replicas
        return Metrics(
            p95_latency_seconds=latency_ms / 1000,
            error_rate=self.faults.error_rate,
            request_rate=REQUESTS_PER_REPLICA * self.replicas,
            cache_hit_ratio=(
                POISONED_CACHE_HIT_RATIO if self.faults.cache_poisoned else HEALTHY_CACHE_HIT_RATIO
            ),
        )

    def scale(self, replicas: int) -> int:
        """Set the replica count and return the previous one."""
        if not MIN_REPLICAS <= replicas <= MAX_REPLICAS:
            raise ValueError(f"replicas must be between {MIN_REPLICAS} and {MAX_REPLICAS}")
        previous, self.replicas = self.replicas, replicas
        return previous

    def restart(self) -> int:
        """Restart the service: a restart clears the error fault. Returns the restart count."""
        self.faults.error_rate = 0.0
        self.restarts += 1
        return self.restarts

    def purge_cache(self) -> int:
        """Purge the cache, clearing poisoning. Returns the purge count."""
        self.faults.cache_poisoned = False
        self.cache_purges += 1
        return self.cache_purges

    def set_flag(self, name: str, enabled: bool) -> bool | None:
        """Set a feature flag and return its previous value (``None`` if it was unknown)."""
        previous = self.flags.get(name)
        self.flags[name] = enabled
        return previous

    def update_faults(self, changes: dict[str, Any]) -> None:
        """Apply a partial fault update; unknown names or out-of-range values raise ValueError."""
        unknown = set(changes) - set(asdict(self.faults))
        if unknown:
            raise ValueError(f"unknown faults: {', '.join(sorted(unknown))}")
        # Validate on a copy so a bad value leaves the current faults untouched.
        self.faults = Faults(**{**asdict(self.faults), **changes})

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self.faults = Faults()

    def saved(self) -> dict[str, Any]:
        """Return what :meth:`restored` needs: the state without its derived metrics."""
        return {
            "replicas": self.replicas,
            "faults": asdict(self.faults),
            "flags": dict(self.flags),
            "restarts": self.restarts,
            "cache_purges": self.cache_purges,
        }

    @classmethod
    def restored(cls, saved: dict[str, Any]) -> DemoState:
        """Rebuild a state from :meth:`saved`."""
        return cls(
            replicas=int(saved["replicas"]),
            faults=Faults(**saved["faults"]),
            flags={str(k): bool(v) for k, v in saved["flags"].items()},
            restarts=int(saved["restarts"]),
            cache_purges=int(saved["cache_purges"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the state as JSON-ready data, with the derived metrics."""
        return {
            "replicas": self.replicas,
            "faults": asdict(self.faults),
            "flags": dict(self.flags),
            "restarts": self.restarts,
            "cache_purges": self.cache_purges,
            "metrics": asdict(self.metrics()),
        }


class IdempotencyConflictError(Exception):
    """An idempotency key was reused for a different request."""


@dataclass(frozen=True)
class StoredResponse:
    """The response first returned for an idempotency key, and what request produced it."""

    fingerprint: str
    status_code: int
    body: dict[str, Any]


def request_fingerprint(action: str, body: dict[str, Any]) -> str:
    """Return a canonical string for an action and its body, insensitive to key order."""
    return json.dumps({"action": action, "body": body}, sort_keys=True, separators=(",", ":"))


class IdempotencyStore:
    """Responses by idempotency key, so a retried mutation is answered without re-applying."""

    def __init__(self) -> None:
        self._responses: dict[str, StoredResponse] = {}

    def replay(self, key: str, fingerprint: str) -> StoredResponse | None:
        """Return the stored response for ``key``, or ``None`` if the key is new.

        Raises:
            IdempotencyConflictError: The key was first used for a different request.
        """
        stored = self._responses.get(key)
        if stored is not None and stored.fingerprint != fingerprint:
            raise IdempotencyConflictError(
                f"Idempotency-Key {key!r} was already used for a different request "
                f"({stored.fingerprint}); a retry must repeat the original request exactly"
            )
        return stored

    def save(self, key: str, fingerprint: str, status_code: int, body: dict[str, Any]) -> None:
        """Remember the response for ``key``."""
        self._responses[key] = StoredResponse(fingerprint, status_code, body)

    def clear(self) -> None:
        """Forget every key."""
        self._responses.clear()


@dataclass(frozen=True)
class AppliedAction:
    """One mutation that was actually applied (replays are not logged)."""

    action: str
    body: dict[str, Any]
    idempotency_key: str | None
    at: str


@dataclass
class DemoTarget:
    """Everything the demo target holds: state, idempotency store, action log, webhook sender.

    The journal keeps all of it durably (see :mod:`workers.demo_target.journal`); the fields
    are its in-memory copy, loaded by :meth:`open`.
    """

    state: DemoState = field(default_factory=DemoState)
    idempotency: IdempotencyStore = field(default_factory=IdempotencyStore)
    actions: list[AppliedAction] = field(default_factory=list)
    webhooks: WebhookSender = field(default_factory=WebhookSender)
    journal: DemoJournal = field(default_factory=DemoJournal)

    @classmethod
    def open(cls, path: Path) -> DemoTarget:
        """Return the demo target whose memory is the journal at ``path`` (created if new)."""
        journal = DemoJournal(path)
        saved = journal.load_state()
        target = cls(state=DemoState.restored(saved) if saved else DemoState(), journal=journal)
        for key, fingerprint, status_code, body in journal.load_responses():
            target.idempotency.save(key, fingerprint, status_code, body)
        target.actions = [AppliedAction(*row) for row in journal.load_actions()]
        target.webhooks.restore([SentReplay(*row) for row in journal.load_replays()])
        return target

    def record_action(
        self,
        action: str,
        body: dict[str, Any],
        key: str | None,
        response: StoredResponse | None = None,
    ) -> None:
        """Log an applied mutation (and the response stored for its key) durably, then here.

        The journal commit comes first: once the caller is answered, a restarted target
        remembers the key and the action.
        """
        at = datetime.now(UTC).isoformat()
        stored = (
            (response.fingerprint, response.status_code, response.body)
            if key is not None and response is not None
            else None
        )
        self.journal.commit_action(
            action=action, body=body, key=key, at=at, response=stored, state=self.state.saved()
        )
        if key is not None and response is not None:
            self.idempotency.save(key, response.fingerprint, response.status_code, response.body)
        self.actions.append(AppliedAction(action, body, key, at))

    def save_state(self) -> None:
        """Durably keep a state change that logs no action (fault injection)."""
        self.journal.save_state(self.state.saved())

    def record_replays(self, replays: list[SentReplay]) -> None:
        """Durably keep webhook replays the sender just performed."""
        self.journal.record_replays(
            [(r.delivery_id, r.tenant, r.endpoint, r.idempotency_key, r.at) for r in replays]
        )

    def reset(self) -> None:
        """Return to defaults, forgetting idempotency keys, the action log and webhook replays."""
        self.journal.clear()
        self.state = DemoState()
        self.idempotency.clear()
        self.actions.clear()
        self.webhooks.clear()
