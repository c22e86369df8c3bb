"""Appending to and reading the evidence ledger in the app database (SQLite or PostgreSQL).

Appends take a database-wide write lock (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory
lock), so the global chain never forks when several worker threads or processes write at once;
the unique constraints back that up. An entry's natural key makes every append idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, bindparam, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col
from sqlmodel import select as orm_select

from api.core.settings import get_settings
from api.ledger.chain import ENTRY_FIELDS, GENESIS, canonical, entry_hash
from api.ledger.keys import LedgerSigner, ledger_signer
from api.models import RefusedApproval
from api.models.audit import LedgerEntry, PolicyBundleArchive

# Any fixed 64-bit number; every Steward process must use the same one.
_PG_LEDGER_LOCK_KEY = 0x5354_4557_4C45_4447
_TABLE: Table = SQLModel.metadata.tables["ledger_entry"]
# A lost race on a unique constraint is retried this many times before giving up.
_APPEND_ATTEMPTS = 5


@dataclass(frozen=True)
class EntryDraft:
    """A fact to append: which incident, its natural key, kind, step and JSON payload."""

    incident_id: str
    key: str
    kind: str
    step: int | None
    payload: dict[str, Any]


def entry_dict(row: LedgerEntry) -> dict[str, Any]:
    """Return the stored fields of an entry (the form packs and chain checks use)."""
    return {name: getattr(row, name) for name in ENTRY_FIELDS}


def lock_ledger(session: Session) -> None:
    """Take the ledger's write lock; must be the first statement of ``session``'s transaction.

    The lock lasts until the transaction ends, so a caller may write its own rows and the
    ledger's entries (:func:`append_in_session`) in one commit.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # Must be the transaction's first statement: pysqlite has not begun one yet.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LEDGER_LOCK_KEY})")


def _find(session: Session, key: str) -> LedgerEntry | None:
    return session.exec(orm_select(LedgerEntry).where(LedgerEntry.entry_key == key)).first()


def append(engine: Engine, signer: LedgerSigner, draft: EntryDraft) -> LedgerEntry:
    """Append ``draft`` unless an entry with its key exists; return the stored entry."""
    with Session(engine, expire_on_commit=False) as session:
        existing = _find(session, draft.key)
    if existing is not None:
        return existing
    append_many(engine, signer, [draft])
    with Session(engine, expire_on_commit=False) as session:
        stored = _find(session, draft.key)
    assert stored is not None, "append_many stored it"
    return stored


def append_many(engine: Engine, signer: LedgerSigner, drafts: list[EntryDraft]) -> int:
    """Append the drafts whose keys are new, in order, in one locked transaction.

    Returns:
        How many entries were added.
    """
    keys = [d.key for d in drafts]
    with Session(engine) as session:
        known = set(
            session.exec(
                orm_select(LedgerEntry.entry_key).where(col(LedgerEntry.entry_key).in_(keys))
            ).all()
        )
    fresh = [d for d in drafts if d.key not in known]
    if not fresh:
        return 0
    for attempt in range(_APPEND_ATTEMPTS):
        try:
            with Session(engine, expire_on_commit=False) as session:
                lock_ledger(session)
                added = append_in_session(session, signer, fresh)
                session.commit()
                return added
        except IntegrityError:
            # Another writer without the lock (a foreign tool) took the sequence number.
            if attempt == _APPEND_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


# Built once (values come as execution parameters): these run inside every record write.
_KNOWN_KEYS = select(_TABLE.c.entry_key).where(
    _TABLE.c.entry_key.in_(bindparam("keys", expanding=True))
)
_GLOBAL_HEAD = (
    select(_TABLE.c.global_seq, _TABLE.c.entry_hash).order_by(_TABLE.c.global_seq.desc()).limit(1)
)
_INCIDENT_HEAD = (
    select(_TABLE.c.seq, _TABLE.c.entry_hash)
    .where(_TABLE.c.incident_id == bindparam("incident_id"))
    .order_by(_TABLE.c.seq.desc())
    .limit(1)
)
_INSERT = insert(_TABLE)


def _head(connection: Connection, incident_id: str | None) -> tuple[int, str]:
    """The sequence number and hash of a chain's last entry: (0, GENESIS) when empty."""
    if incident_id is None:
        row = connection.execute(_GLOBAL_HEAD).first()
    else:
        row = connection.execute(_INCIDENT_HEAD, {"incident_id": incident_id}).first()
    return (int(row[0]), str(row[1])) if row is not None else (0, GENESIS)


def append_in_session(session: Session, signer: LedgerSigner, drafts: list[EntryDraft]) -> int:
    """Add the drafts whose keys are new to ``session``, which holds :func:`lock_ledger`.

    Core statements, not the ORM: this runs inside every record activity.

    Returns:
        How many entries were added; the caller commits.
    """
    connection = session.connection()
    keys = [d.key for d in drafts]
    known = set(connection.execute(_KNOWN_KEYS, {"keys": keys}).scalars().all())
    global_seq, global_hash = _head(connection, None)
    heads: dict[str, tuple[int, str]] = {}
    rows: list[dict[str, Any]] = []
    for draft in drafts:
        if draft.key in known:
            continue
        if draft.incident_id not in heads:
            heads[draft.incident_id] = _head(connection, draft.incident_id)
        seq, prev_hash = heads[draft.incident_id]
        fields: dict[str, Any] = {
            "entry_key": draft.key,
            "incident_id": draft.incident_id,
            "seq": seq + 1,
            "global_seq": global_seq + 1,
            "kind": draft.kind,
            "step": draft.step,
            "at": datetime.now(UTC).isoformat(),
            "payload": canonical(draft.payload),
            "prev_hash": prev_hash,
            "global_prev_hash": global_hash,
            "key_id": signer.key_id,
        }
        digest = entry_hash(fields)
        rows.append({**fields, "entry_hash": digest, "signature": signer.sign(digest.encode())})
        known.add(draft.key)
        global_seq, global_hash = global_seq + 1, digest
        heads[draft.incident_id] = (seq + 1, digest)
    if rows:
        connection.execute(_INSERT, rows)
    return len(rows)


def incident_entries(engine: Engine, incident_id: str) -> list[LedgerEntry]:
    """Return one incident's entries in chain order."""
    with Session(engine) as session:
        query = orm_select(LedgerEntry).where(LedgerEntry.incident_id == incident_id)
        return list(session.exec(query.order_by(col(LedgerEntry.seq))).all())


def all_entries(engine: Engine) -> list[LedgerEntry]:
    """Return every entry in global chain order."""
    with Session(engine) as session:
        query = orm_select(LedgerEntry).order_by(col(LedgerEntry.global_seq))
        return list(session.exec(query).all())


def archive_bundle(engine: Engine, sha256: str, files: dict[str, str]) -> None:
    """Keep the sources of the bundle ``sha256`` unless they are kept already."""
    with Session(engine) as session:
        if session.get(PolicyBundleArchive, sha256) is not None:
            return
        session.add(PolicyBundleArchive(sha256=sha256, files=files))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # a concurrent writer archived the same bundle


def bundle_sources(engine: Engine, sha256: str) -> dict[str, str] | None:
    """Return the archived sources of bundle ``sha256``, or None when it was never archived."""
    with Session(engine) as session:
        row = session.get(PolicyBundleArchive, sha256)
        return dict(row.files) if row is not None else None


def record_refused_approval(engine: Engine, signer: LedgerSigner, row: RefusedApproval) -> None:
    """Append a refused vote (which leaves no workflow history) to its incident's chain."""
    step = row.approval_id.rsplit(".", 1)[-1]
    draft = EntryDraft(
        incident_id=row.incident_id or row.approval_id.rsplit(".", 1)[0],
        key=f"{row.incident_id}:refused:{row.id}",
        kind="approval_refused",
        step=int(step) if step.isdigit() else None,
        payload={
            "approval_id": row.approval_id,
            "principal": row.principal,
            "roles": list(row.roles),
            "decision": row.decision,
            "reason": row.reason,
            "at": row.created_at.isoformat(),
        },
    )
    append(engine, signer, draft)


def ledger_refused_approval(session: Session, row: RefusedApproval) -> None:
    """Append a just-committed refused vote with the configured ledger key."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    record_refused_approval(engine, ledger_signer(get_settings()), row)
