"""Access control and Slack: refused requests, key rotation, Slack links, messages and nonces.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # Batch mode: SQLite can only add a column to an existing table this way portably.
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(sa.Column("replaced_by", sa.String(), nullable=True))

    op.create_table(
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

    op.create_table(
        "slack_user_link",
        sa.Column("slack_user_id", sa.String(), nullable=False),
        sa.Column("principal", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("slack_user_id", name="pk_slack_user_link"),
    )
    op.create_index("ix_slack_user_link_principal", "slack_user_link", ["principal"])

    op.create_table(
        "slack_message",
        sa.Column("approval_id", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("ts", sa.String(), nullable=True),
        sa.Column("shown_status", sa.String(), nullable=False),
        _timestamp("escalated_at", nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["approval_id"], ["approval.id"], name="fk_slack_message_approval_id_approval"
        ),
        sa.PrimaryKeyConstraint("approval_id", name="pk_slack_message"),
    )

    op.create_table(
        "slack_request_nonce",
        sa.Column("signature", sa.String(), nullable=False),
        _timestamp("received_at"),
        sa.PrimaryKeyConstraint("signature", name="pk_slack_request_nonce"),
    )
    op.create_index("ix_slack_request_nonce_received_at", "slack_request_nonce", ["received_at"])


def downgrade() -> None:
    for table in ("slack_request_nonce", "slack_message", "slack_user_link", "refused_request"):
        op.drop_table(table)
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("replaced_by")
