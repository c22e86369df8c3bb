"""Approval diff: what the action will change, as the gate previewed it for the approvers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("approval") as batch:
        batch.add_column(sa.Column("diff", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approval") as batch:
        batch.drop_column("diff")
