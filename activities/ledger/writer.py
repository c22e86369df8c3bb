"""Appends record activities' facts to the evidence ledger, archiving the deciding bundle.

The bundle's sources come from the policy engine's memory (what it hashed and compiled), never
from the policy directory: what is archived is exactly what decided, and a record write reads
no file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import Engine
from sqlmodel import Session

from api.ledger.keys import LedgerSigner
from api.ledger.store import (
    EntryDraft,
    append_in_session,
    append_many,
    archive_bundle,
    bundle_sources,
)

log = logging.getLogger(__name__)

# How many written keys a writer remembers before it starts afresh.
_REMEMBERED_KEYS = 100_000
# Returns the sources of a bundle by its hash, as the worker's policy engine loaded it, or None
# when the engine never decided with it (``PolicyEngine.sources_of``).
BundleSources = Callable[[str], Mapping[str, str] | None]


class LedgerWriter:
    """Appends entries for one worker; shared by every record activity thread."""

    def __init__(
        self, engine: Engine, signer: LedgerSigner, sources: BundleSources | None = None
    ) -> None:
        """Append with ``signer`` into ``engine``; archive bundles from ``sources`` when given."""
        self._engine = engine
        self._signer = signer
        self._sources = sources
        self._archived: set[str] = set()
        self._written: set[str] = set()

    def prepare(self, drafts: Iterable[EntryDraft]) -> list[EntryDraft]:
        """Return the drafts that may be new, having archived the bundles behind decisions.

        Keys this process has stored are dropped without a query: a record activity repeats
        the same facts (the incident's opening) several times per run. Call before taking the
        ledger lock: archiving writes in a transaction of its own.
        """
        fresh = [d for d in drafts if d.key not in self._written]
        for draft in fresh:
            if draft.kind == "decision":
                self._archive(str(draft.payload.get("decision", {}).get("bundle_sha256", "")))
        return fresh

    def add(self, session: Session, drafts: list[EntryDraft]) -> None:
        """Append ``drafts`` in ``session``, which holds the ledger lock; the caller commits."""
        append_in_session(session, self._signer, drafts)

    def remember(self, drafts: Iterable[EntryDraft]) -> None:
        """Note committed keys, so later repeats skip the database."""
        if len(self._written) > _REMEMBERED_KEYS:
            self._written.clear()  # a cache only: the unique key still guards every append
        self._written.update(d.key for d in drafts)

    def write(self, drafts: Iterable[EntryDraft]) -> None:
        """Append the drafts in order, in a transaction of their own (idempotent by key)."""
        fresh = self.prepare(drafts)
        if fresh:
            append_many(self._engine, self._signer, fresh)
            self.remember(fresh)

    def _archive(self, sha: str) -> None:
        """Keep the sources of the bundle that made a decision, for evidence packs.

        The sources are the engine's copy of what it loaded and hashed; a bundle the engine
        does not know (a what-if bundle is archived before it decides) is left alone.
        """
        if not sha or sha in self._archived or self._sources is None:
            return
        if bundle_sources(self._engine, sha) is not None:
            self._archived.add(sha)
            return
        files = self._sources(sha)
        if files is None:
            log.warning("bundle %s is not one this worker's engine loaded: not archived", sha)
            return
        archive_bundle(self._engine, sha, dict(files))
        self._archived.add(sha)
