"""Engines for archived what-if bundles, which simulate-mode re-plans decide with."""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from sqlalchemy import Engine

from activities.policy.engine import EmbeddedPolicyEngine, PolicyEngine, PolicyError
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
            compiled = EmbeddedPolicyEngine(root)  # compiled in memory: the folder may go
        if compiled.bundle_sha256 != sha256:
            raise PolicyError(f"archived bundle {sha256} hashes to {compiled.bundle_sha256}")
        with self._lock:
            self._cache[sha256] = compiled
            while len(self._cache) > _CACHED:
                self._cache.popitem(last=False)
        return compiled
