"""Policy facts: applied actions and verified outcomes in narrow, indexed tables.

The gate read these facts by grouping ``incident_step`` rows by their JSON parameters on every
decision, which grew with history. Existing history is copied over; a past action's target
is taken as its incident's service (the actuator that computed it may have changed since).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 23:18:50.908850
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_BACKFILL_APPLIED = """
INSERT INTO fact_applied (incident_id, step, action, service, target, tier, applied_at)
SELECT s.incident_id, s.step, s.name, i.service, i.service, COALESCE(s.tier, ''), s.updated_at
FROM incident_step s JOIN incident i ON i.id = s.incident_id
WHERE s.kind = 'act' AND s.status = 'applied'
"""

_BACKFILL_OUTCOMES = """
INSERT INTO fact_outcome (incident_id, action, service, verified, ended_at)
SELECT DISTINCT i.id, s.name, i.service,
       CASE WHEN i.status = 'resolved' THEN 1 ELSE 0 END, i.updated_at
FROM incident i JOIN incident_step s
  ON s.incident_id = i.id AND s.kind = 'act' AND s.status = 'applied'
WHERE i.mode = 'apply' AND (
  i.status IN ('rolled_back', 'failed') OR (
    i.status = 'resolved' AND EXISTS (
      SELECT 1 FROM incident_step v
      WHERE v.incident_id = i.id AND v.kind = 'verify' AND v.status = 'passed')))
"""


def upgrade() -> None:
    op.create_table(
        "fact_applied",
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "step", name=op.f("pk_fact_applied")),
    )
    with op.batch_alter_table("fact_applied", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fact_applied_applied_at"), ["applied_at"], unique=False
        )

    op.create_table(
        "fact_outcome",
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("verified", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "action", name=op.f("pk_fact_outcome")),
    )
    with op.batch_alter_table("fact_outcome", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fact_outcome_action_service_ended", ["action", "service", "ended_at"], unique=False
        )
    op.execute(_BACKFILL_APPLIED)
    op.execute(_BACKFILL_OUTCOMES)


def downgrade() -> None:
    with op.batch_alter_table("fact_outcome", schema=None) as batch_op:
        batch_op.drop_index("ix_fact_outcome_action_service_ended")

    op.drop_table("fact_outcome")
    with op.batch_alter_table("fact_applied", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fact_applied_applied_at"))

    op.drop_table("fact_applied")
