"""Rate limiting: in-process token buckets per API key, and per address for keyless requests.

Each API process keeps its own buckets, so N processes behind a load balancer admit up to N times
the configured rate; that bounds abuse of one key or address without a shared store. The buckets
are bounded in number: past ``max_keys`` the least recently used is forgotten (a forgotten bucket
is a full one, which is what an idle key or address has anyway).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    refilled_at: float


class TokenBucketLimiter:
    """Admits ``burst`` requests at once per key, refilled at ``per_minute / 60`` per second."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        """Create a limiter.

        Args:
            per_minute: Sustained requests per minute for one key.
            burst: Bucket size: requests one key may make back to back.
            clock: Monotonic seconds; replaceable so the arithmetic is testable.
            max_keys: Buckets kept; the least recently used one goes first.

        Raises:
            ValueError: A rate or burst that is not positive.
        """
        if per_minute <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("per_minute must be positive, burst and max_keys at least 1")
        self.rate_per_second = per_minute / 60.0
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        # FastAPI runs sync dependencies on a thread pool: buckets are shared between threads.
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket.

        Returns:
            0 when the request is admitted, otherwise the seconds until a token is available.
        """
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
                if len(self._buckets) > self._max_keys:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(key)
            elapsed = max(0.0, now - bucket.refilled_at)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate_per_second)
            bucket.refilled_at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate_per_second

    def __len__(self) -> int:
        """Return how many buckets are kept."""
        return len(self._buckets)


def retry_after_header(wait_seconds: float) -> str:
    """Return a ``Retry-After`` value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(wait_seconds)))
