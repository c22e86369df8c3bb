"""Persistence of the evidence ledger and of the policy bundles behind its decisions.

Imported by ``api.models`` (which every user of the schema imports), so these tables register
with the same metadata; they live here to keep each module small.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.models.columns import UTCDateTime, utcnow


class LedgerEntry(SQLModel, table=True):
    """One signed, hash-chained fact about an incident (see ``api.ledger.chain``).

    Entries are only ever inserted. ``entry_key`` is the natural key of the fact (incident,
    step, kind), so a retried activity finds its entry instead of adding a second one.
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("entry_key"),
        UniqueConstraint("global_seq"),
        UniqueConstraint("incident_id", "seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entry_key: str
    incident_id: str = Field(index=True)
    seq: int
    global_seq: int
    kind: str
    step: int | None = None
    at: str
    # Text, not JSON: the hash covers these exact bytes, whatever a driver would do to JSON.
    payload: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str
    global_prev_hash: str
    entry_hash: str
    key_id: str
    signature: str


class PolicyBundleArchive(SQLModel, table=True):
    """The sources of a policy bundle that decided something, kept for evidence packs."""

    __tablename__ = "policy_bundle"

    sha256: str = Field(primary_key=True)
    files: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
