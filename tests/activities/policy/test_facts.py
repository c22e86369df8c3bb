"""The facts gatherer on real SQLite and PostgreSQL databases, and the policy reading them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from activities.policy import runtime
from activities.policy.check import sample_input
from activities.policy.engine import EmbeddedPolicyEngine
from activities.policy.facts import FACT_KEYS, WINDOWS, make_facts_gatherer, sample_stats
from api.models import utcnow
from tests.activities.policy import POLICIES
from tests.activities.policy.history import add_run

# Each test runs on a fresh SQLite file and a fresh PostgreSQL schema.


def test_an_empty_database_has_empty_facts(db_engine: Engine) -> None:
    facts = make_facts_gatherer(db_engine)("demo.scale", "demo", "demo")
    assert facts.stats == {
        "applied": [],
        "verified": [],
        "kill_switch": None,
        "freezes": [],
        "service": None,
        "target": None,
    }
    assert facts.reload_generation == 0


def test_applied_actions_are_counted_per_window_and_target(db_engine: Engine) -> None:
    add_run(db_engine, "demo.scale", ago=30)
    add_run(db_engine, "demo.scale", ago=2000, status="rolled_back", verified=False)
    add_run(db_engine, "demo.scale", ago=100_000)  # older than the longest window
    add_run(db_engine, "demo.restart", service="billing", ago=200, tier="critical")
    # The target comes from the actuator: this incident's service is demo, the call's billing.
    add_run(
        db_engine,
        "demo.feature_flag",
        ago=10,
        params={"service": "billing", "flag": "x", "enabled": True},
    )
    add_run(db_engine, "demo.scale", ago=5, step_status="awaiting_approval", status="running")
    add_run(db_engine, "demo.scale", ago=5, step_status="planned", mode="simulate")
    applied = make_facts_gatherer(db_engine)("demo.scale", "demo", "demo").stats["applied"]
    # One row per group: action, service, target, tier, then a count per window.
    assert WINDOWS == (60, 300, 900, 3600, 86400)
    assert applied == [
        ["demo.feature_flag", "demo", "billing", "warn", 1, 1, 1, 1, 1],
        ["demo.restart", "billing", "billing", "critical", 0, 1, 1, 1, 1],
        ["demo.scale", "demo", "demo", "warn", 1, 1, 1, 2, 2],
    ]


def test_verified_outcomes_are_newest_first_for_this_action_and_service(db_engine: Engine) -> None:
    add_run(db_engine, "demo.scale", ago=500, status="rolled_back", verified=False)
    add_run(db_engine, "demo.scale", ago=400, status="resolved", verified=True)
    add_run(db_engine, "demo.scale", ago=300, status="failed", verified=None)
    add_run(db_engine, "demo.scale", ago=200, status="resolved", verified=None)  # never verified
    add_run(db_engine, "demo.scale", ago=150, status="running", verified=None)  # not over
    add_run(db_engine, "demo.scale", ago=100, status="resolved", service="billing")
    add_run(db_engine, "demo.restart", ago=50, status="rolled_back", verified=False)
    add_run(db_engine, "demo.scale", ago=10, status="resolved", verified=True)
    gather = make_facts_gatherer(db_engine)
    assert gather("demo.scale", "demo", "demo").stats["verified"] == [1, 0, 1, 0]
    assert gather("demo.restart", "demo", "demo").stats["verified"] == [0]


def test_runtime_state_reaches_the_facts(db_engine: Engine) -> None:
    now = utcnow()
    with Session(db_engine) as session:
        runtime.set_kill_switch(session, True, "ada", "database migration")
        spec = runtime.FreezeSpec(now, now + timedelta(hours=2), "release", ["demo"], [])
        current = runtime.freeze_fact(runtime.add_freeze(session, spec, "ada"))
        past = runtime.FreezeSpec(now - timedelta(hours=3), now - timedelta(hours=1), "old", [], [])
        runtime.add_freeze(session, past, "ada")
        later = runtime.FreezeSpec(now + timedelta(days=1), now + timedelta(days=2), "x", [], [])
        removed = runtime.add_freeze(session, later, "bo")
        assert removed.id is not None
        runtime.remove_freeze(session, removed.id, "bo", "cancelled")
        reload = runtime.record_reload(session, "ada", "new data", {}, refused=False).id
        runtime.record_reload(session, "ada", "broken", {}, refused=True)
    facts = make_facts_gatherer(db_engine)("demo.scale", "demo", "demo")
    switch = facts.stats["kill_switch"]
    assert (switch["enabled"], switch["reason"], switch["by"]) == (
        True,
        "database migration",
        "ada",
    )
    assert switch["at"].endswith("+00:00")
    assert facts.stats["freezes"] == [current]
    assert current["services"] == ["demo"] and current["by"] == "ada"
    assert current["start"].endswith("+00:00") and current["reason"] == "release"
    assert facts.reload_generation == reload


def test_the_policy_accepts_what_the_gatherer_supplies(db_engine: Engine) -> None:
    add_run(db_engine, "demo.scale", ago=30)
    add_run(db_engine, "demo.scale", ago=60, status="rolled_back", verified=False)
    now = utcnow()
    with Session(db_engine) as session:
        runtime.set_kill_switch(session, False, "ada", "all clear")
        spec = runtime.FreezeSpec(
            now + timedelta(hours=1), now + timedelta(hours=2), "soon", [], []
        )
        runtime.add_freeze(session, spec, "ada")
    stats = make_facts_gatherer(db_engine)("demo.scale", "demo", "demo").stats
    # The keys steward policy check holds policies to, and the shape of its sample facts.
    assert tuple(stats) == FACT_KEYS == tuple(sample_stats())
    # The gate fills service from the catalog (null when it declares nothing, as here) and
    # target from the actuator (null when it reads nothing).
    assert stats["service"] is None and stats["target"] is None
    stats["service"], stats["target"] = sample_stats()["service"], sample_stats()["target"]
    for key, value in sample_stats().items():
        assert type(stats[key]) is type(value)
    for service in (None, sample_stats()["service"]):
        decision = EmbeddedPolicyEngine(POLICIES).evaluate(
            dataclasses.replace(sample_input(), mode="apply", stats={**stats, "service": service})
        )
        assert decision.outcome == "allow", decision
