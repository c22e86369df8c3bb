"""Models round-trip through real SQLite and PostgreSQL databases created by the migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, col, select

from api.core.db import session_scope
from api.models import (
    ApiKey,
    Approval,
    ApprovalVote,
    Incident,
    RefusedApproval,
    Role,
    Step,
    utcnow,
)
from tests.support.db import new_approval, new_incident, new_step

# Fixtures are found by module attribute; plain assignments keep linters from calling the
# test parameters of the same name redefinitions of an unused import.


def test_utcnow_is_timezone_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_role_names() -> None:
    assert {role.value for role in Role} == {"operator", "engineer", "auditor", "admin"}


def test_incident_round_trip_keeps_json_and_aware_utc_times(db_engine: Engine) -> None:
    # A non-UTC zone on the way in must come back as the same instant, in UTC.
    window_start = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    outcome = {"result": "resolved", "actions": [{"name": "restart", "ok": True}], "score": 0.5}
    with session_scope(db_engine) as session:
        session.add(new_incident(id="inc-1", window_start=window_start, outcome=outcome))

    with Session(db_engine) as session:
        stored = session.get(Incident, "inc-1")
        assert stored is not None
        assert stored.outcome == outcome
        assert stored.window_start == window_start
        assert stored.window_start.tzinfo == UTC
        assert stored.window_start.hour == 12
        assert stored.created_at.tzinfo == UTC
        assert stored.summary is None


def test_updated_at_moves_on_update(db_engine: Engine) -> None:
    with session_scope(db_engine) as session:
        session.add(new_incident(id="inc-upd"))
    with session_scope(db_engine) as session:
        incident = session.get(Incident, "inc-upd")
        assert incident is not None
        first_update = incident.updated_at
        incident.status = "running"
        session.add(incident)
    with Session(db_engine) as session:
        stored = session.get(Incident, "inc-upd")
        assert stored is not None
        assert stored.status == "running"
        assert stored.updated_at > first_update


def test_naive_datetimes_are_refused(db_engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"), session_scope(db_engine) as session:
        session.add(new_incident(window_start=datetime(2024, 1, 1, 12, 0)))
        session.flush()


def test_step_round_trip_and_unique_incident_step_kind(db_engine: Engine) -> None:
    incident = new_incident()
    with session_scope(db_engine) as session:
        session.add(incident)
        session.add(new_step(incident, 1, "act", before={"replicas": 2}, result=[1, "two"]))
        session.add(new_step(incident, 1, "verify", name="error_rate_below"))
        session.add(new_step(incident, 2, "act", decision={"allow": True, "reasons": []}))

    with Session(db_engine) as session:
        steps = session.exec(
            select(Step)
            .where(Step.incident_id == incident.id)
            .order_by(col(Step.step), col(Step.kind))
        ).all()
        assert [(step.step, step.kind) for step in steps] == [(1, "act"), (1, "verify"), (2, "act")]
        assert steps[0].before == {"replicas": 2}
        assert steps[0].result == [1, "two"]
        assert steps[0].params == {"service": "demo"}
        assert steps[2].decision == {"allow": True, "reasons": []}
        assert all(isinstance(step.id, int) for step in steps)
        assert len({step.id for step in steps}) == 3

    with pytest.raises(IntegrityError), session_scope(db_engine) as session:
        session.add(new_step(incident, 1, "act", name="another"))


def test_step_requires_an_existing_incident(db_engine: Engine) -> None:
    # SQLite only enforces foreign keys with PRAGMA foreign_keys=ON on each connection.
    orphan = new_incident(id="never-saved")
    with pytest.raises(IntegrityError), session_scope(db_engine) as session:
        session.add(new_step(orphan))


def test_approval_and_votes_round_trip(db_engine: Engine) -> None:
    incident = new_incident()
    approval = new_approval(incident, 3, reasons=["tier critical", "freeze window"], quorum=2)
    with session_scope(db_engine) as session:
        session.add(incident)
        session.add(approval)
        session.flush()
        session.add(
            ApprovalVote(
                approval_id=approval.id,
                principal="alice",
                roles=["operator", "admin"],
                decision="approve",
                comment="looks safe",
            )
        )

    assert approval.id == f"{incident.id}.3"
    with Session(db_engine) as session:
        stored = session.get(Approval, approval.id)
        assert stored is not None
        assert stored.reasons == ["tier critical", "freeze window"]
        assert stored.roles == ["operator"]
        assert stored.quorum == 2
        assert stored.status == "pending"
        assert stored.expires_at - stored.requested_at == timedelta(minutes=30)
        assert stored.decided_at is None
        votes = session.exec(select(ApprovalVote)).all()
        assert [(vote.principal, vote.roles, vote.comment) for vote in votes] == [
            ("alice", ["operator", "admin"], "looks safe")
        ]


def test_one_vote_per_principal_per_approval(db_engine: Engine) -> None:
    incident = new_incident()
    approval = new_approval(incident)
    with session_scope(db_engine) as session:
        session.add(incident)
        session.add(approval)
        session.flush()
        session.add(ApprovalVote(approval_id=approval.id, principal="bob", decision="approve"))

    with pytest.raises(IntegrityError), session_scope(db_engine) as session:
        session.add(ApprovalVote(approval_id=approval.id, principal="bob", decision="reject"))

    with Session(db_engine) as session:
        decisions = session.exec(select(ApprovalVote.decision)).all()
        assert decisions == ["approve"]


def test_refused_approval_needs_no_existing_approval(db_engine: Engine) -> None:
    # Refusals are evidence of attempts, including ones against approvals that never existed.
    with session_scope(db_engine) as session:
        session.add(
            RefusedApproval(
                approval_id="ghost.1",
                principal="mallory",
                roles=["auditor"],
                decision="approve",
                reason="role auditor may not approve",
            )
        )
    with Session(db_engine) as session:
        refused = session.exec(select(RefusedApproval)).one()
        assert refused.incident_id is None
        assert refused.roles == ["auditor"]
        assert refused.reason == "role auditor may not approve"


def test_api_key_round_trip(db_engine: Engine) -> None:
    expires_at = utcnow() + timedelta(days=1)
    with session_scope(db_engine) as session:
        session.add(
            ApiKey(
                id="0123456789ab",
                principal="ci",
                roles=["engineer"],
                secret_hash="00" * 32,
                expires_at=expires_at,
            )
        )
    with Session(db_engine) as session:
        stored = session.get(ApiKey, "0123456789ab")
        assert stored is not None
        assert stored.roles == ["engineer"]
        assert stored.expires_at == expires_at
        assert stored.revoked_at is None
        assert stored.last_used_at is None


def test_session_scope_rolls_back_on_error(db_engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="boom"), session_scope(db_engine) as session:
        session.add(new_incident(id="rolled-back"))
        session.flush()
        raise RuntimeError("boom")
    with Session(db_engine) as session:
        assert session.get(Incident, "rolled-back") is None


def test_sqlite_connections_use_wal_and_foreign_keys(db_engine: Engine) -> None:
    if db_engine.dialect.name != "sqlite":
        assert db_engine.dialect.name == "postgresql"
        assert db_engine.pool._pre_ping
        return
    with db_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_postgres_engine_is_confined_to_its_schema(db_engine: Engine, db_url: str) -> None:
    if db_engine.dialect.name != "postgresql":
        assert db_url.startswith("sqlite:///")
        return
    with db_engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        tables = connection.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :schema"),
            {"schema": schema},
        ).scalars()
        assert schema.startswith("steward_test_")
        assert {"incident", "incident_step", "approval", "api_key"} <= set(tables)
