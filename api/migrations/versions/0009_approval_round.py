"""Approval round: which round of asking an approval is in (a stricter re-decision asks again).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:35:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("approval") as batch:
        batch.add_column(
            sa.Column("approval_round", sa.Integer(), nullable=False, server_default="1")
        )


def downgrade() -> None:
    with op.batch_alter_table("approval") as batch:
        batch.drop_column("approval_round")
