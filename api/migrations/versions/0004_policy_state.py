"""Policy runtime state: the kill switch, change freezes and the record of policy changes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "policy_setting",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        _timestamp("changed_at"),
        sa.PrimaryKeyConstraint("key", name="pk_policy_setting"),
    )
    op.create_table(
        "policy_freeze",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        _timestamp("starts_at"),
        _timestamp("ends_at"),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        _timestamp("created_at"),
        _timestamp("removed_at", nullable=True),
        sa.Column("removed_by", sa.String(), nullable=True),
        sa.Column("removed_reason", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_policy_freeze"),
    )
    op.create_table(
        "policy_change",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("principal", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_policy_change"),
    )
    op.create_index("ix_policy_change_kind", "policy_change", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_policy_change_kind", table_name="policy_change")
    op.drop_table("policy_change")
    op.drop_table("policy_freeze")
    op.drop_table("policy_setting")
