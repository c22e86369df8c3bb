"""Initial schema: incidents, steps, approvals, votes, refused approvals, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("signal", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("playbook", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("opened_by", sa.String(), nullable=False),
        _timestamp("window_start"),
        sa.Column("summary", sa.String(), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_incident"),
    )
    op.create_index("ix_incident_service", "incident", ["service"])
    op.create_index("ix_incident_status", "incident", ["status"])

    op.create_table(
        "incident_step",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("tier", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name="fk_incident_step_incident_id_incident"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_incident_step"),
        sa.UniqueConstraint(
            "incident_id", "step", "kind", name="uq_incident_step_incident_id_step_kind"
        ),
    )
    op.create_index("ix_incident_step_incident_id", "incident_step", ["incident_id"])

    op.create_table(
        "approval",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("actuator", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        _timestamp("requested_at"),
        _timestamp("expires_at"),
        _timestamp("decided_at", nullable=True),
        sa.Column("decided_reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name="fk_approval_incident_id_incident"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_approval"),
    )
    op.create_index("ix_approval_incident_id", "approval", ["incident_id"])
    op.create_index("ix_approval_status", "approval", ["status"])

    op.create_table(
        "approval_vote",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("approval_id", sa.String(), nullable=False),
        sa.Column("principal", sa.String(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("comment", sa.String(), nullable=True),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["approval_id"], ["approval.id"], name="fk_approval_vote_approval_id_approval"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_approval_vote"),
        sa.UniqueConstraint(
            "approval_id", "principal", name="uq_approval_vote_approval_id_principal"
        ),
    )
    op.create_index("ix_approval_vote_approval_id", "approval_vote", ["approval_id"])

    op.create_table(
        "refused_approval",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("approval_id", sa.String(), nullable=False),
        sa.Column("incident_id", sa.String(), nullable=True),
        sa.Column("principal", sa.String(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_refused_approval"),
    )
    op.create_index("ix_refused_approval_approval_id", "refused_approval", ["approval_id"])

    op.create_table(
        "api_key",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("principal", sa.String(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("secret_hash", sa.String(), nullable=False),
        _timestamp("created_at"),
        _timestamp("expires_at", nullable=True),
        _timestamp("revoked_at", nullable=True),
        _timestamp("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_key"),
    )
    op.create_index("ix_api_key_principal", "api_key", ["principal"])


def downgrade() -> None:
    # Children before parents, so foreign keys never point at a dropped table.
    for table in (
        "api_key",
        "refused_approval",
        "approval_vote",
        "approval",
        "incident_step",
        "incident",
    ):
        op.drop_table(table)
