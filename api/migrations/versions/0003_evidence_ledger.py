"""Evidence ledger: signed, hash-chained entries and the policy bundles behind decisions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("entry_key", sa.String(), nullable=False),
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("global_seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("global_prev_hash", sa.String(), nullable=False),
        sa.Column("entry_hash", sa.String(), nullable=False),
        sa.Column("key_id", sa.String(), nullable=False),
        sa.Column("signature", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entry"),
        sa.UniqueConstraint("entry_key", name="uq_ledger_entry_entry_key"),
        sa.UniqueConstraint("global_seq", name="uq_ledger_entry_global_seq"),
        sa.UniqueConstraint("incident_id", "seq", name="uq_ledger_entry_incident_id_seq"),
    )
    op.create_index("ix_ledger_entry_incident_id", "ledger_entry", ["incident_id"])

    op.create_table(
        "policy_bundle",
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_policy_bundle"),
    )


def downgrade() -> None:
    op.drop_table("policy_bundle")
    op.drop_index("ix_ledger_entry_incident_id", table_name="ledger_entry")
    op.drop_table("ledger_entry")
