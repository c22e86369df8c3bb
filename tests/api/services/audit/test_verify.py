"""The ledger end to end: one entry per fact, verify, a flipped byte, the history cross-check."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import Engine, text
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.ledger.writer import LedgerWriter
from activities.records.activities import RecordActivities
from activities.types import StepRecord
from api.core.settings import Settings
from api.ledger.keys import ledger_signer
from api.services.audit.history import cross_check, history_facts
from tests.api.services.audit.helpers import cli, ledger, run_playbook

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_every_fact_once_and_verify_names_the_flipped_entry(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    incident, outcome = await run_playbook(temporal_env.client, settings, "test_compensating")
    assert outcome.status == "rolled_back"
    entries = ledger(engine, incident)
    assert [(e["kind"], e["step"]) for e in entries] == [
        ("opened", None),
        ("decision", 1),
        ("apply", 1),
        ("decision", 2),
        ("apply", 2),
        ("decision", 3),
        ("apply", 3),
        ("verification", 4),
        ("undo", 2),
        ("undo", 1),
        ("outcome", None),
    ]
    decision = json.loads(entries[3]["payload"])
    assert decision["gate_input"]["action"] == "demo.scale"
    assert decision["decision"]["outcome"] == "allow" and decision["decision"]["rules"]
    apply = json.loads(entries[4]["payload"])
    assert apply["before"] == {"replicas": 2} and apply["reversible"] is True
    assert json.loads(entries[6]["payload"])["reversible"] is False  # the cache purge

    # A retried record activity (same record again) finds its entries instead of adding.
    records = RecordActivities(engine, LedgerWriter(engine, ledger_signer(settings)))
    retried = StepRecord(
        incident_id=incident,
        step=2,
        kind="act",
        name="demo.scale",
        status="applied",
        params=apply["params"],
        tier="warn",
        decision=decision["decision"],
        before=apply["before"],
        result=apply["result"],
        gate_input=decision["gate_input"],
    )
    records.record_step(retried)
    assert ledger(engine, incident) == entries

    intact = await cli("audit", "verify", "--incident", incident)
    assert intact.exit_code == 0, intact.output
    assert "ledger intact: 11 entries" in intact.stdout
    assert (await cli("audit", "verify")).exit_code == 0

    altered = entries[4]["payload"].replace('"replicas":6', '"replicas":7')
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE ledger_entry SET payload = :p WHERE entry_key = :k"),
            {"p": altered, "k": entries[4]["entry_key"]},
        )
    broken = await cli("audit", "verify", "--incident", incident)
    assert broken.exit_code == 1, broken.output
    problems = [line.strip() for line in broken.stdout.splitlines()[1:]]
    assert problems == [
        f"entry {incident}#5 (global #{entries[4]['global_seq']}, {incident}:2:apply): "
        "entry hash does not match its contents (the entry was altered)"
    ]
    everything = await cli("audit", "verify")
    assert everything.exit_code == 1
    assert f"{incident}#5 " in everything.stdout


async def test_history_cross_check_names_both_directions(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
    incident, outcome = await run_playbook(temporal_env.client, settings, "high_latency")
    assert outcome.status == "resolved"
    history = await temporal_env.client.get_workflow_handle(incident).fetch_history()
    facts = history_facts(json.loads(history.to_json()))
    entries = ledger(engine, incident)
    assert facts.workflow_type == "high_latency" and facts.closed
    assert cross_check(facts, entries) == []

    without_apply = [e for e in entries if e["kind"] != "apply"]
    (missing,) = cross_check(facts, without_apply)
    event = facts.changes[0].event_id
    assert missing == (
        f"history event {event} completed the apply of step 1 (demo.scale) "
        "but the ledger has no entry for it"
    )
    invented = [*entries, {**entries[2], "step": 9, "seq": 99, "entry_key": f"{incident}:9:apply"}]
    (extra,) = cross_check(facts, invented)
    assert extra.startswith(f"ledger entry {incident}#99 ({incident}:9:apply) records a apply")
