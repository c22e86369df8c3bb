"""Record activities are idempotent upserts, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlmodel import Session, select

from activities.ledger.writer import LedgerWriter
from activities.policy.facts import make_facts_gatherer
from activities.records.activities import RecordActivities
from activities.types import ApprovalRecord, ApprovalRequirement, IncidentRecord, StepRecord, Vote
from api.ledger.chain import check_global_chain
from api.ledger.keys import LedgerSigner, LedgerVerifier
from api.ledger.store import all_entries, entry_dict
from api.models import Approval, ApprovalVote, Incident, Step

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).isoformat()


SIGNER = LedgerSigner(Ed25519PrivateKey.generate())


def recorder(engine: Engine) -> RecordActivities:
    return RecordActivities(engine, LedgerWriter(engine, SIGNER))


def ledger_kinds(engine: Engine) -> list[tuple[str, int | None]]:
    """The ledger's (kind, step) in order, after checking its chains and signatures."""
    entries = [entry_dict(row) for row in all_entries(engine)]
    assert check_global_chain(entries, LedgerVerifier([SIGNER.public_key])) is None
    return [(e["kind"], e["step"]) for e in entries]


def incident(status: str, outcome: dict[str, str] | None = None) -> IncidentRecord:
    return IncidentRecord(
        id="inc-r1",
        service="demo",
        signal="errors",
        severity="high",
        playbook="error_burst",
        mode="apply",
        status=status,
        opened_by="tester",
        window_start=NOW,
        outcome=outcome,
    )


def test_incident_and_step_records_are_upserts(db_engine: Engine) -> None:
    records = recorder(db_engine)
    records.record_incident(incident("running"))
    records.record_incident(incident("running"))  # a retried activity
    step = StepRecord(
        incident_id="inc-r1",
        step=1,
        kind="act",
        name="demo.scale",
        status="gated",
        params={"replicas": 4},
        tier="warn",
    )
    records.record_step(step)
    step.status, step.result = "applied", {"replicas": 4}
    records.record_step(step)
    records.record_step(step)
    records.record_incident(incident("resolved", {"status": "resolved"}))
    with Session(db_engine) as session:
        row = session.get(Incident, "inc-r1")
        assert row is not None and row.status == "resolved"
        assert row.outcome == {"status": "resolved"}
        steps = session.exec(select(Step)).all()
        assert [(s.step, s.status, s.result) for s in steps] == [(1, "applied", {"replicas": 4})]
    # The retries left one ledger entry per fact.
    assert ledger_kinds(db_engine) == [("opened", None), ("apply", 1), ("outcome", None)]


def test_approval_records_add_each_vote_once(db_engine: Engine) -> None:
    records = recorder(db_engine)
    records.record_incident(incident("awaiting_approval"))
    requirement = ApprovalRequirement(quorum=2, roles=["operator"], timeout_seconds=600)
    opened = ApprovalRecord(
        incident_id="inc-r1",
        step=1,
        actuator="demo.restart",
        params={"service": "demo"},
        tier="critical",
        reasons=["tier critical"],
        requirement=requirement,
        status="pending",
        at=NOW,
    )
    records.record_approval(opened)
    records.record_approval(opened)
    first = Vote(principal="olivia", roles=["operator"], decision="approve", comment="ok")
    voted = ApprovalRecord(
        incident_id="inc-r1",
        step=1,
        actuator="demo.restart",
        params={},
        tier="",
        reasons=[],
        requirement=requirement,
        status="pending",
        at=NOW,
        votes=[first],
    )
    records.record_approval(voted)
    records.record_approval(voted)
    second = Vote(principal="oscar", roles=["operator"], decision="approve")
    done = ApprovalRecord(
        incident_id="inc-r1",
        step=1,
        actuator="demo.restart",
        params={},
        tier="",
        reasons=[],
        requirement=requirement,
        status="approved",
        at=NOW,
        votes=[first, second],
        decided_reason="approved by olivia, oscar",
    )
    records.record_approval(done)
    with Session(db_engine) as session:
        approval = session.get(Approval, "inc-r1.1")
        assert approval is not None
        assert (approval.status, approval.quorum, approval.tier) == ("approved", 2, "critical")
        assert approval.decided_reason == "approved by olivia, oscar"
        assert approval.expires_at.timestamp() - approval.requested_at.timestamp() == 600
        votes = session.exec(select(ApprovalVote).order_by(ApprovalVote.id)).all()
        assert [v.principal for v in votes] == ["olivia", "oscar"]
    assert ledger_kinds(db_engine) == [
        ("opened", None),
        ("approval_requested", 1),
        ("vote", 1),
        ("vote", 1),
        ("approval_decided", 1),
    ]


def test_records_keep_the_policy_facts(db_engine: Engine) -> None:
    """Applied steps count for rate limits with the gate's target; outcomes feed the breaker."""
    records = recorder(db_engine)
    gate_input = {"incident": {"service": "demo"}, "target": "billing"}
    records.record_incident(incident("running"))
    step = StepRecord(
        incident_id="inc-r1",
        step=1,
        kind="act",
        name="demo.flag",
        status="applied",
        params={},
        tier="warn",
        gate_input=gate_input,
    )
    records.record_step(step)
    records.record_step(step)  # a retried activity counts once
    records.record_step(
        StepRecord(
            incident_id="inc-r1", step=2, kind="verify", name="demo.p95_below", status="passed"
        )
    )
    records.record_incident(incident("resolved", {"status": "resolved"}))
    records.record_incident(incident("resolved", {"status": "resolved"}))
    gather = make_facts_gatherer(db_engine)
    stats = gather("demo.flag", "demo", "billing").stats
    assert [row[:5] for row in stats["applied"]] == [["demo.flag", "demo", "billing", "warn", 1]]
    assert stats["verified"] == [1]
    assert gather("demo.other", "demo", "demo").stats["verified"] == []
