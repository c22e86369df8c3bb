"""The one write path of a playbook run's records: row upsert and ledger entries, one commit.

The record activities, the gate (the incident's first record) and apply (the step's
``applied`` record) all write through one :class:`RecordWriter` per worker.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from activities.ledger.writer import LedgerWriter
from activities.records.ledger_events import approval_drafts, incident_drafts, step_drafts
from activities.records.rows import upsert_approval, upsert_incident, upsert_step
from activities.records.write_lock import record_write_lock
from activities.types import ApprovalRecord, IncidentRecord, StepRecord
from api.ledger.store import EntryDraft, lock_ledger


class RecordWriter:
    """Writes a run's records into the app database; shared by every thread of a worker."""

    def __init__(self, engine: Engine, ledger: LedgerWriter) -> None:
        """Write through ``engine``, appending facts through ``ledger``."""
        self._engine = engine
        self._ledger = ledger
        # SQLite has one writer at a time: queue this machine's record writers (every thread
        # of every worker process) instead of letting them back off in the busy handler.
        self._write_lock = record_write_lock(engine)

    def _write(self, drafts: list[EntryDraft], upsert: Callable[[Session], None]) -> None:
        """Run ``upsert`` and append the new ledger entries in one transaction.

        One commit instead of two: the record and its facts land together, and SQLite takes
        its write lock once per record.
        """
        fresh = self._ledger.prepare(drafts)
        with self._write_lock, Session(self._engine) as session:
            if fresh:
                lock_ledger(session)
            upsert(session)
            if fresh:
                self._ledger.add(session, fresh)
            session.commit()
        self._ledger.remember(fresh)

    def incident(self, rec: IncidentRecord) -> None:
        """Create the incident row or move it to ``rec.status``."""
        self._write(incident_drafts(rec), lambda session: upsert_incident(session, rec))

    def step(self, rec: StepRecord) -> None:
        """Create or update the step row for ``(incident, step, kind)``."""
        self._write(step_drafts(rec), lambda session: upsert_step(session, rec))

    def approval(self, rec: ApprovalRecord) -> None:
        """Open or update the approval row and add its new votes."""
        self._write(approval_drafts(rec), lambda session: upsert_approval(session, rec))
