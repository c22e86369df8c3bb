"""Appends record activities' facts to the evidence ledger, archiving the deciding bundle."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from activities.policy.bundle import bundle_sha256, policy_files
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
# Returns the policy directory the worker's engine decides with, when it has one.
PolicyDirSource = Callable[[], Path | None]


def read_bundle(directory: Path) -> tuple[str, dict[str, str]]:
    """Return the bundle hash and the UTF-8 sources of the policy in ``directory``."""
    contents = {name: (directory / name).read_bytes() for name in policy_files(directory)}
    return bundle_sha256(contents), {k: v.decode() for k, v in contents.items()}


class LedgerWriter:
    """Appends entries for one worker; shared by every record activity thread."""

    def __init__(
        self, engine: Engine, signer: LedgerSigner, policy_dir: PolicyDirSource | None = None
    ) -> None:
        self._engine = engine
        self._signer = signer
        self._policy_dir = policy_dir
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

        The directory is read now, possibly after the decision; its sources are kept only when
        they still hash to the decision's bundle, so a pack never shows the wrong policy.
        """
        if not sha or sha in self._archived or self._policy_dir is None:
            return
        if bundle_sources(self._engine, sha) is not None:
            self._archived.add(sha)
            return
        directory = self._policy_dir()
        if directory is None:
            return
        try:
            current, files = read_bundle(directory)
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("cannot read policy sources in %s: %s", directory, exc)
            return
        if current != sha:
            log.warning("policy %s changed before bundle %s could be archived", directory, sha)
            return
        archive_bundle(self._engine, sha, files)
        self._archived.add(sha)
