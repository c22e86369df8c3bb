"""Refusals counted per kind and interval instead of one row per refused request.

``refused_request`` grew by a row for every refused request (8,228 rows in 30 s of unauthenticated
load). ``refusal_count`` keeps one row per minute and (principal, presented key, address,
method, route, status, reason), with a count and the first and last time seen. Existing rows are
folded into counts of their minute. A downgrade expands each count back into a single row
stamped with its last sighting (the individual times are gone).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:30:00
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The interval old rows are folded into; the running API's is ``refusal_interval_seconds``.
_FOLD_SECONDS = 60
_BATCH = 5000


def _timestamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _aware(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _fingerprint(fields: tuple[object, ...]) -> str:
    # The same digest as api.services.refusals.fingerprint (copied: migrations stand alone).
    start, *rest = fields
    assert isinstance(start, datetime)
    joined = "\x1f".join([start.isoformat(), *(str(field) for field in rest)])
    return hashlib.sha256(joined.encode("utf-8", "backslashreplace")).hexdigest()


def upgrade() -> None:
    counts = op.create_table(
        "refusal_count",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("fingerprint", sa.String(), nullable=False),
        _timestamp("interval_start"),
        sa.Column("principal", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("client", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("route", sa.String(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        _timestamp("first_seen"),
        _timestamp("last_seen"),
        sa.PrimaryKeyConstraint("id", name="pk_refusal_count"),
        sa.UniqueConstraint("fingerprint", name="uq_refusal_count_fingerprint"),
    )
    for column in ("interval_start", "principal", "client", "status", "last_seen"):
        op.create_index(f"ix_refusal_count_{column}", "refusal_count", [column])
    _fold_old_rows(counts)
    op.drop_index("ix_refused_request_principal", table_name="refused_request")
    op.drop_index("ix_refused_request_created_at", table_name="refused_request")
    op.drop_table("refused_request")


def _fold_old_rows(counts: sa.Table) -> None:
    bind = op.get_bind()
    old = sa.table(
        "refused_request",
        *(sa.column(name) for name in ("id", "principal", "key_id", "client", "method")),
        *(sa.column(name) for name in ("route", "status", "reason", "created_at")),
    )
    folded: dict[tuple[object, ...], dict[str, object]] = {}
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(old).where(old.c.id > last_id).order_by(old.c.id).limit(_BATCH)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        for row in rows:
            seen = _aware(row.created_at)
            epoch = seen.timestamp()
            start = datetime.fromtimestamp(epoch - epoch % _FOLD_SECONDS, tz=UTC)
            key = (
                start,
                row.principal or "",
                row.key_id or "",
                row.client or "",
                row.method,
                row.route,
                row.status,
                row.reason,
            )
            tally = folded.get(key)
            if tally is None:
                folded[key] = {"count": 1, "first_seen": seen, "last_seen": seen}
            else:
                tally["count"] = int(str(tally["count"])) + 1
                tally["last_seen"] = seen
    names = ("interval_start", "principal", "key_id", "client", "method", "route", "status")
    values = [
        {
            "fingerprint": _fingerprint(key),
            **dict(zip((*names, "reason"), key, strict=True)),
            **tally,
        }
        for key, tally in folded.items()
    ]
    for offset in range(0, len(values), _BATCH):
        op.bulk_insert(counts, values[offset : offset + _BATCH])


def downgrade() -> None:
    old = op.create_table(
        "refused_request",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("principal", sa.String(), nullable=True),
        sa.Column("key_id", sa.String(), nullable=True),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("route", sa.String(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("client", sa.String(), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_refused_request"),
    )
    op.create_index("ix_refused_request_principal", "refused_request", ["principal"])
    op.create_index("ix_refused_request_created_at", "refused_request", ["created_at"])
    bind = op.get_bind()
    counts = sa.table(
        "refusal_count",
        *(sa.column(name) for name in ("principal", "key_id", "client", "method", "route")),
        *(sa.column(name) for name in ("status", "reason", "last_seen")),
    )
    rows = bind.execute(sa.select(counts)).all()
    op.bulk_insert(
        old,
        [
            {
                "principal": row.principal or None,
                "key_id": row.key_id or None,
                "client": row.client or None,
                "method": row.method,
                "route": row.route,
                "status": row.status,
                "reason": row.reason,
                "created_at": _aware(row.last_seen),
            }
            for row in rows
        ],
    )
    for column in ("interval_start", "principal", "client", "status", "last_seen"):
        op.drop_index(f"ix_refusal_count_{column}", table_name="refusal_count")
    op.drop_table("refusal_count")
