"""The remote engine for real: opa-python-client's async client against an OPA REST server.

The server (bench/harness/opa_server.py) runs the real OPA engine behind OPA's data API on a
real socket; the decisions must equal the embedded engine's, failures must deny, and a
playbook must run end to end with the worker pointed at the server.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from activities.policy.engine import EmbeddedPolicyEngine, PolicyError
from activities.policy.factory import make_policy_engine
from activities.policy.remote import RemotePolicyEngine
from api.core.settings import Settings
from bench.harness.opa_server import create_opa_app
from bench.harness.servers import free_port, serve_app
from tests.activities.policy import GATE_REGO, POLICIES, make_input
from tests.workflows.helpers import incident_input, start, steps
from workers.worker import build_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def opa_server() -> Iterator[tuple[str, Any]]:
    """The shipped policy behind OPA's REST API: (base URL, server state)."""
    app = create_opa_app(POLICIES)
    with serve_app(app) as url:
        yield url, app.state.opa


@pytest_asyncio.fixture(loop_scope="session")
async def remote(opa_server: tuple[str, Any]) -> AsyncIterator[RemotePolicyEngine]:
    engine = RemotePolicyEngine(opa_server[0], POLICIES, timeout=5)
    yield engine
    await engine.aclose()


KILLED = {"enabled": True, "reason": "drill", "by": "ada", "at": "2024-05-01T00:00:00+00:00"}
CASES = [
    {},
    {"tier": "critical", "action": "demo.restart", "parameters": {}},
    {"tier": "warn", "parameters": {"replicas": 99}},
    {"stats": {"applied": [], "verified": [], "kill_switch": KILLED, "freezes": []}},
    {"stats": {"applied": []}},
    {"tier": "galactic", "mode": "yolo"},
    {"time": "2024-05-01T12:00:00Z"},
]


@pytest.mark.parametrize("changes", CASES, ids=lambda c: ",".join(c) or "plain")
async def test_remote_decisions_equal_embedded(
    remote: RemotePolicyEngine, changes: dict[str, Any]
) -> None:
    gate_input = make_input(**changes)
    embedded = EmbeddedPolicyEngine(POLICIES).evaluate(gate_input)
    decided = await remote.decide(gate_input)
    assert decided == embedded
    assert decided.bundle_sha256 == remote.bundle_sha256 == embedded.bundle_sha256


async def test_settings_choose_the_engine(opa_server: tuple[str, Any], settings: Settings) -> None:
    assert isinstance(make_policy_engine(settings), EmbeddedPolicyEngine)
    chosen = make_policy_engine(
        settings.model_copy(update={"policy_engine": "remote", "opa_url": opa_server[0]})
    )
    assert isinstance(chosen, RemotePolicyEngine)
    before = opa_server[1].requests
    assert (await chosen.decide(make_input())).outcome == "allow"
    assert opa_server[1].requests == before + 1
    await chosen.aclose()


async def test_unreachable_server_denies() -> None:
    engine = RemotePolicyEngine(f"http://127.0.0.1:{free_port()}", POLICIES, timeout=1, retries=0)
    decision = await engine.decide(make_input())
    await engine.aclose()
    assert (decision.outcome, decision.rules) == ("deny", ["evaluation_error"])
    assert decision.reasons[0].startswith("policy server: ")
    assert decision.bundle_sha256 == engine.bundle_sha256


def one_rule_policy(root: Path, rule: str) -> Path:
    (root / "steward/gate").mkdir(parents=True)
    (root / GATE_REGO).write_text(f"package steward.gate\n\n{rule}\n")
    (root / "data.json").write_text("{}")
    return root


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        # Undefined: OPA answers {} and the engine denies.
        ('decision := {"outcome": "allow"} if input.tier == "none"', "undefined decision"),
        # Conflicting values: OPA answers 500 and the engine denies.
        (
            'decision := 1 if input.tier == "info"\n\ndecision := 2 if input.tier == "info"',
            "policy server: ",
        ),
        ('decision := {"outcome": "allow"}', "malformed decision: missing approval"),
    ],
    ids=["undefined", "server-error", "malformed"],
)
async def test_server_answers_that_are_not_decisions_deny(
    tmp_path: Path, rule: str, reason: str
) -> None:
    root = one_rule_policy(tmp_path, rule)
    with serve_app(create_opa_app(root)) as url:
        engine = RemotePolicyEngine(url, root, timeout=5, retries=0)
        decision = await engine.decide(make_input())
        await engine.aclose()
    assert decision.outcome == "deny"
    assert decision.reasons[0].startswith(reason), decision.reasons


async def test_failed_reload_keeps_the_running_bundle(
    tmp_path: Path, opa_server: tuple[str, Any]
) -> None:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    engine = RemotePolicyEngine(opa_server[0], root, timeout=5)
    before = engine.bundle_sha256
    gate = root / GATE_REGO
    gate.write_text(gate.read_text() + "\nbroken := if {\n")
    with pytest.raises(PolicyError, match=rf"{GATE_REGO}:\d+"):
        engine.reload()
    assert engine.bundle_sha256 == before
    assert (await engine.decide(make_input())).bundle_sha256 == before
    gate.write_text(gate.read_text().replace("\nbroken := if {\n", "\n# reloaded\n"))
    assert engine.reload() != before
    await engine.aclose()


async def test_playbook_runs_with_the_worker_pointed_at_the_server(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
    opa_server: tuple[str, Any],
) -> None:
    policy = RemotePolicyEngine(opa_server[0], POLICIES, timeout=5)
    before = opa_server[1].requests
    demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
    async with (
        httpx.AsyncClient(timeout=10) as http,
        build_worker(temporal_env.client, settings, engine, http, policy),
    ):
        handle = await start(temporal_env.client, settings, "high_latency", incident_input())
        outcome = await handle.result()
    await policy.aclose()
    assert outcome.status == "resolved", outcome
    act = steps(engine, handle.id)[0]
    assert act.decision is not None
    assert act.decision["outcome"] == "allow"
    assert act.decision["bundle_sha256"] == policy.bundle_sha256
    assert opa_server[1].requests > before
