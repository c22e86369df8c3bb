"""Activities that keep the app database's view of incidents, steps and approvals.

They run as local activities: short, in-process writes whose results land in history as
markers. Every write is an upsert keyed by natural ids, so a retried activity changes
nothing twice. Each record also appends its facts to the evidence ledger, keyed the same way.
"""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from activities import names
from activities.ledger.writer import LedgerWriter
from activities.records.writer import RecordWriter
from activities.types import ApprovalRecord, IncidentRecord, StepRecord


class RecordActivities:
    """Writes the workflow's progress into the app database, through its :class:`RecordWriter`."""

    def __init__(self, engine: Engine, ledger: LedgerWriter) -> None:
        self.writer = RecordWriter(engine, ledger)

    @activity.defn(name=names.RECORD_INCIDENT)
    def record_incident(self, rec: IncidentRecord) -> None:
        """Create the incident row or move it to ``rec.status``."""
        self.writer.incident(rec)

    @activity.defn(name=names.RECORD_STEP)
    def record_step(self, rec: StepRecord) -> None:
        """Create or update the step row for ``(incident, step, kind)``."""
        self.writer.step(rec)

    @activity.defn(name=names.RECORD_APPROVAL)
    def record_approval(self, rec: ApprovalRecord) -> None:
        """Open the approval row on first sight; afterwards add new votes and the verdict.

        A later round's request (after a stricter re-decision) reopens the row.
        """
        self.writer.approval(rec)
