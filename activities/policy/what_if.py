"""Engines for archived what-if bundles, which simulate-mode re-plans decide with."""

from __future__ import annotations

import dataclasses
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from activities.policy.check import sample_input
from activities.policy.engine import EmbeddedPolicyEngine, PolicyBundle, PolicyEngine, PolicyError
from activities.policy.facts import WINDOWS
from activities.policy.types import Decision, GateInput
from api.core.audit_ledger import bundle_sources

# What-if bundles are few and short-lived; a handful compiled stays enough.
_CACHED = 8


class WhatIfEngines:
    """Compiles archived bundles by sha256 on first use and keeps the last few."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._cache: OrderedDict[str, PolicyEngine] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sha256: str) -> PolicyEngine:
        """Return an engine deciding with the archived bundle ``sha256``.

        Raises:
            PolicyError: The bundle was never archived, or it does not compile.
        """
        with self._lock:
            if sha256 in self._cache:
                self._cache.move_to_end(sha256)
                return self._cache[sha256]
        files = bundle_sources(self._engine, sha256)
        if files is None:
            raise PolicyError(f"no archived policy bundle {sha256}")
        with tempfile.TemporaryDirectory(prefix="steward-whatif-") as folder:
            root = Path(folder)
            for name, text in files.items():
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_text(text)
            embedded = EmbeddedPolicyEngine(root)  # compiled in memory: the folder may go
        if embedded.bundle_sha256 != sha256:
            raise PolicyError(f"archived bundle {sha256} hashes to {embedded.bundle_sha256}")
        compiled: PolicyEngine = embedded
        if not _reads_applied_rows(embedded):
            compiled = AppliedObjectsEngine(embedded)
        with self._lock:
            self._cache[sha256] = compiled
            while len(self._cache) > _CACHED:
                self._cache.popitem(last=False)
        return compiled


def _reads_applied_rows(engine: EmbeddedPolicyEngine) -> bool:
    """Whether the bundle takes applied-action facts as rows, as the gatherer writes them."""
    decision = engine.evaluate(sample_input())
    return "invalid input: stats.applied" not in decision.reasons


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


class AppliedObjectsEngine(PolicyEngine):
    """An archived bundle from before applied-action facts were rows, given objects.

    Such a bundle calls row facts invalid input, so a what-if with it would deny every
    action for a reason that has nothing to do with its policy.
    """

    def __init__(self, inner: PolicyEngine) -> None:
        """Wrap ``inner``, an engine for a bundle that expects applied objects."""
        self._inner = inner

    @property
    def bundle(self) -> PolicyBundle:
        """The archived bundle."""
        return self._inner.bundle

    async def decide(self, gate_input: GateInput) -> Decision:
        """Decide with the applied facts turned into objects."""
        stats = dict(gate_input.stats)
        stats["applied"] = applied_objects(stats.get("applied", []))
        return await self._inner.decide(dataclasses.replace(gate_input, stats=stats))

    def reload(self) -> str:
        """Archived bundles do not change: return the hash."""
        return self._inner.bundle_sha256

    async def aclose(self) -> None:
        """Release the wrapped engine."""
        await self._inner.aclose()
