"""Engines for archived what-if bundles, which simulate-mode re-plans decide with.

A what-if bundle is a user's: it is compiled and decides in a sandbox process with memory and
time limits (:mod:`activities.policy.sandbox`), never in the worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy import Engine

from activities.policy.decision import decision_from_document, deny
from activities.policy.engine import PolicyError, gate_input_to_dict
from activities.policy.facts import WINDOWS
from activities.policy.limits import BundleLimits, BundleTooLargeError, check_bundle_size
from activities.policy.sandbox import PolicyLimitError, PolicySandbox, SandboxLimits
from activities.policy.types import Decision, GateInput
from api.core.settings import Settings, get_settings
from api.ledger.store import bundle_sources

# Each engine holds a sandbox process (some 50 MB): keep few, and not for long.
_CACHED = 2
_IDLE_SECONDS = 300.0


class WhatIfEngine:
    """Decides with one what-if bundle in a sandbox process (loaded on first use)."""

    def __init__(self, sha256: str, files: dict[str, str], limits: SandboxLimits) -> None:
        """Keep the bundle's sources; the sandbox starts when the bundle is loaded.

        Args:
            sha256: The bundle's hash, as archived.
            files: Its sources by relative path.
            limits: The sandbox's limits.
        """
        self.bundle_sha256 = sha256
        self.reads_applied_rows = True
        self.used_at = time.monotonic()
        self._files = files
        self._sandbox = PolicySandbox(limits)
        self._lock = threading.Lock()

    def load(self) -> None:
        """Compile the bundle in a (fresh, when the last one was killed) sandbox.

        Raises:
            PolicyError: It does not compile, hashes differently, or breaks a limit.
        """
        with self._lock:
            self._load()

    def _load(self) -> None:
        answer = self._sandbox.request({"op": "load", "files": self._files})
        if answer["bundle_sha256"] != self.bundle_sha256:
            raise PolicyError(
                f"archived bundle {self.bundle_sha256} hashes to {answer['bundle_sha256']}"
            )
        self.reads_applied_rows = bool(answer["reads_applied_rows"])

    async def decide(self, gate_input: GateInput) -> Decision:
        """Return the decision; a limit breach or a crash is a deny naming it."""
        return await asyncio.to_thread(self.evaluate, gate_input)

    def evaluate(self, gate_input: GateInput) -> Decision:
        """Decide in the sandbox, loading the bundle again if its last process was killed."""
        self.used_at = time.monotonic()
        document = gate_input_to_dict(gate_input)
        with self._lock:
            try:
                if not self._sandbox.running:
                    self._load()
                (doc,) = self._sandbox.request({"op": "decide", "inputs": [document]})["decisions"]
            except PolicyError as exc:
                rule = (
                    "evaluation_limit" if isinstance(exc, PolicyLimitError) else "evaluation_error"
                )
                return deny(self.bundle_sha256, "", rule, exc.message)
        return decision_from_document(doc, self.bundle_sha256, str(doc.get("input_sha256", "")))

    def close(self) -> None:
        """Stop the sandbox process."""
        self._sandbox.close()


class WhatIfEngines:
    """Loads archived bundles by sha256 on first use, each in its sandbox; keeps the last few."""

    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        self._engine = engine
        # The worker's settings (size and sandbox limits); ``get_settings()`` when omitted.
        self._settings = settings or get_settings()
        self._cache: OrderedDict[str, WhatIfEngine] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str) -> WhatIfEngine | AppliedObjectsEngine:
        """Return an engine deciding with the archived bundle ``sha256``.

        Raises:
            PolicyError: The bundle was never archived, is over a size limit, does not
                compile, or breaks the sandbox's memory or time limit while loading.
        """
        with self._lock:
            idle = self._take_idle()
            cached = self._cache.get(sha256)
            if cached is not None:
                self._cache.move_to_end(sha256)
        for stale in idle:
            stale.close()
        if cached is None:
            cached = self._load(sha256)
        if cached.reads_applied_rows:
            return cached
        return AppliedObjectsEngine(cached)

    def _load(self, sha256: str) -> WhatIfEngine:
        files = bundle_sources(self._engine, sha256)
        if files is None:
            raise PolicyError(f"no archived policy bundle {sha256}")
        settings = self._settings
        try:
            check_bundle_size(files, BundleLimits.from_settings(settings))
        except BundleTooLargeError as exc:
            raise PolicyError(exc.message) from exc
        loaded = WhatIfEngine(sha256, files, SandboxLimits.for_evaluation(settings))
        try:
            loaded.load()
        except PolicyError:
            loaded.close()
            raise
        with self._lock:
            raced = self._cache.get(sha256)
            if raced is None:
                self._cache[sha256] = loaded
            evicted = [
                self._cache.popitem(last=False)[1] for _ in range(len(self._cache) - _CACHED)
            ]
        if raced is not None:  # another thread loaded it meanwhile
            evicted.append(loaded)
        # Outside the cache lock: closing waits for a decision in flight on that engine.
        for stale in evicted:
            stale.close()
        return raced or loaded

    def _take_idle(self) -> list[WhatIfEngine]:
        """Remove the engines idle for too long from the cache (the caller holds the lock)."""
        now = time.monotonic()
        idle = [sha for sha, e in self._cache.items() if now - e.used_at > _IDLE_SECONDS]
        return [self._cache.pop(sha) for sha in idle]

    def close(self) -> None:
        """Stop every sandbox process."""
        with self._lock:
            engines = list(self._cache.values())
            self._cache.clear()
        for stale in engines:
            stale.close()


def applied_objects(rows: list[list[Any]]) -> list[dict[str, Any]]:
    """Return applied-action rows as the objects bundles archived before rows expect."""
    return [
        {
            "action": row[0],
            "service": row[1],
            "target": row[2],
            "tier": row[3],
            "counts": {str(w): n for w, n in zip(WINDOWS, row[4:], strict=True)},
        }
        for row in rows
    ]


class AppliedObjectsEngine:
    """An archived bundle from before applied-action facts were rows, given objects.

    Such a bundle calls row facts invalid input, so a what-if with it would deny every
    action for a reason that has nothing to do with its policy.
    """

    def __init__(self, inner: WhatIfEngine) -> None:
        """Wrap ``inner``, an engine for a bundle that expects applied objects."""
        self._inner = inner

    @property
    def bundle_sha256(self) -> str:
        """The archived bundle's hash."""
        return self._inner.bundle_sha256

    async def decide(self, gate_input: GateInput) -> Decision:
        """Decide with the applied facts turned into objects."""
        stats = dict(gate_input.stats)
        stats["applied"] = applied_objects(stats.get("applied", []))
        return await self._inner.decide(dataclasses.replace(gate_input, stats=stats))
