"""Storing pushed events and delivery attempts: idempotent, and all or nothing per batch.

Each batch is one ``INSERT ... ON CONFLICT DO NOTHING ... RETURNING`` in one transaction: the
returned keys are what was stored, every other key was already there (a duplicate), and two
senders racing with the same ids cannot both store one. Validation happens before, on the
whole batch, so a malformed batch stores nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from api.models import utcnow
from api.models.detection import DeliveryAttemptRow, Event
from api.schemas.ingest import AttemptKey, DeliveriesStored, DeliveryIn, EventIn, EventsStored


def insert_new(
    session: Session, table: Table, rows: list[dict[str, Any]], keys: Sequence[Column[Any]]
) -> set[tuple[Any, ...]]:
    """Insert the rows whose keys are new; return the keys of those inserted.

    The caller commits (or rolls back) the transaction.
    """
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).on_conflict_do_nothing().returning(*keys)
    return {tuple(row) for row in session.execute(statement, rows)}


def store_events(session: Session, events: list[EventIn]) -> EventsStored:
    """Store new events; the first of several with one id wins, the rest are duplicates."""
    unique: dict[str, EventIn] = {}
    repeats: list[str] = []
    for event in events:
        if event.id in unique:
            repeats.append(event.id)
        else:
            unique[event.id] = event
    now = utcnow()
    rows = [
        {
            "id": e.id,
            "series": e.series,
            "service": e.service,
            "timestamp": e.timestamp,
            "value": e.value,
            "labels": e.labels,
            "received_at": now,
        }
        for e in unique.values()
    ]
    table = Event.__table__  # type: ignore[attr-defined]
    stored = {key for (key,) in insert_new(session, table, rows, [table.c.id])}
    session.commit()
    duplicates = [i for i in unique if i not in stored] + repeats
    return EventsStored(received=len(events), stored=len(stored), duplicates=duplicates)


def store_deliveries(session: Session, deliveries: list[DeliveryIn]) -> DeliveriesStored:
    """Store new delivery attempts, keyed by ``(delivery_id, attempt)``."""
    unique: dict[tuple[str, int], DeliveryIn] = {}
    repeats: list[tuple[str, int]] = []
    for delivery in deliveries:
        key = (delivery.delivery_id, delivery.attempt)
        if key in unique:
            repeats.append(key)
        else:
            unique[key] = delivery
    now = utcnow()
    rows = [
        {
            "delivery_id": d.delivery_id,
            "tenant": d.tenant,
            "endpoint": d.endpoint,
            "status_code": d.status_code,
            "error_text": d.error_text,
            "response_headers": d.response_headers,
            "attempt": d.attempt,
            "timestamp": d.timestamp,
            "received_at": now,
        }
        for d in unique.values()
    ]
    table = DeliveryAttemptRow.__table__  # type: ignore[attr-defined]
    stored = insert_new(session, table, rows, [table.c.delivery_id, table.c.attempt])
    session.commit()
    duplicates = [k for k in unique if k not in stored] + repeats
    return DeliveriesStored(
        received=len(deliveries),
        stored=len(stored),
        duplicates=[AttemptKey(delivery_id=d, attempt=a) for d, a in duplicates],
    )
