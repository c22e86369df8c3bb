"""Detection: monitors, pushed events, Alertmanager alerts, webhook deliveries, incident evidence.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 23:14:07.916665
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "alert_state",
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("incident_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_alert_state")),
    )
    with op.batch_alter_table("alert_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_state_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "delivery_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("endpoint", sa.String(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error_text", sa.String(), nullable=False),
        sa.Column("response_headers", sa.JSON(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempt")),
        sa.UniqueConstraint(
            "delivery_id", "attempt", name=op.f("uq_delivery_attempt_delivery_id_attempt")
        ),
    )
    with op.batch_alter_table("delivery_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_attempt_delivery_id"), ["delivery_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_delivery_attempt_tenant"), ["tenant"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_delivery_attempt_timestamp"), ["timestamp"], unique=False
        )

    op.create_table(
        "delivery_replay",
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("delivery_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", "delivery_id", name=op.f("pk_delivery_replay")),
    )
    op.create_table(
        "event",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("series", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_series"), ["series"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_timestamp"), ["timestamp"], unique=False)

    op.create_table(
        "incident_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("dedup_key", sa.String(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_evidence")),
        sa.UniqueConstraint(
            "incident_id", "dedup_key", name=op.f("uq_incident_evidence_incident_id_dedup_key")
        ),
    )
    with op.batch_alter_table("incident_evidence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_evidence_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "monitor",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("signal", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("playbook", sa.String(), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("detector", sa.JSON(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_monitor")),
    )


def downgrade() -> None:

    op.drop_table("monitor")
    with op.batch_alter_table("incident_evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_evidence_incident_id"))

    op.drop_table("incident_evidence")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_timestamp"))
        batch_op.drop_index(batch_op.f("ix_event_series"))

    op.drop_table("event")
    op.drop_table("delivery_replay")
    with op.batch_alter_table("delivery_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempt_timestamp"))
        batch_op.drop_index(batch_op.f("ix_delivery_attempt_tenant"))
        batch_op.drop_index(batch_op.f("ix_delivery_attempt_delivery_id"))

    op.drop_table("delivery_attempt")
    with op.batch_alter_table("alert_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_state_incident_id"))

    op.drop_table("alert_state")
