"""The gate passes the catalog's environment and owners; the policy prefers them to data.json.

Real SQLite facts, the real regopy engine on the shipped policy, a real catalog file. Gate
inputs recorded before the catalog (no ``stats.service``) still decide as they did.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from activities.policy.engine import EmbeddedPolicyEngine
from activities.policy.facts import make_facts_gatherer
from activities.policy.gate import GateActivities
from activities.policy.signing import DecisionSigner
from activities.policy.types import gate_input_from_dict
from api.core.settings import Settings
from tests.activities.policy import POLICIES
from tests.activities.policy.test_gate import request

pytestmark = pytest.mark.asyncio(loop_scope="session")

PRODUCTION_DEMO = """
services:
  demo:
    environment: production
    owners: [payments]
    target: {kind: demo}
"""


def gate_with(
    sqlite_engine: Engine, settings: Settings, policy_dir: Path = POLICIES
) -> GateActivities:
    engine = EmbeddedPolicyEngine(policy_dir)
    signer = DecisionSigner(b"0123456789abcdef0123")
    return GateActivities(engine, signer, settings, make_facts_gatherer(sqlite_engine))


async def test_the_catalog_environment_decides(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "steward.yaml"
    path.write_text(PRODUCTION_DEMO)
    settings = Settings(_env_file=None, catalog_path=path, targets={})
    gate = gate_with(sqlite_engine, settings)
    result = await gate.gate(request("demo.scale", {"service": "demo", "replicas": 4}))
    assert result.gate_input["stats"]["service"] == {
        "environment": "production",
        "owners": ["payments"],
    }
    # data.json says demo is staging (warn allowed); the catalog says production.
    assert result.decision.outcome == "approval_required"
    assert result.decision.reasons == ["tier warn requires approval in production"]
    assert result.decision.approval is not None and result.decision.approval.quorum == 2

    # The same input recorded before the catalog existed (no stats.service): data.json decides.
    recorded = dict(result.gate_input)
    recorded["stats"] = {k: v for k, v in recorded["stats"].items() if k != "service"}
    replayed = EmbeddedPolicyEngine(POLICIES).evaluate(gate_input_from_dict(recorded))
    assert replayed.outcome == "allow"


async def test_without_a_declaration_data_json_decides(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STEWARD_CATALOG", raising=False)
    settings = Settings(_env_file=None, targets={})
    gate = gate_with(sqlite_engine, settings)
    result = await gate.gate(request("demo.scale", {"service": "demo", "replicas": 4}))
    # The built-in demo declares nothing: null, and data.json's staging entry decides.
    assert result.gate_input["stats"]["service"] is None
    assert result.decision.outcome == "allow"
    critical = await gate.gate(request("demo.restart", {}, step=2))
    assert critical.decision.outcome == "approval_required"
    assert critical.decision.approval is not None


def owners_only_policy(tmp_path: Path) -> Path:
    """The shipped policy, with approvals restricted to the owning teams' members."""
    policy_dir = tmp_path / "policies"
    shutil.copytree(POLICIES, policy_dir)
    data_file = policy_dir / "data.json"
    data = json.loads(data_file.read_text())
    config = data["steward"]["config"]
    config["approval"]["owners_only"] = True
    config["teams"] = {"sre": ["sam"], "payments": ["pat"]}
    data_file.write_text(json.dumps(data))
    return policy_dir


async def test_catalog_owners_restrict_owner_only_approvers(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy_dir = owners_only_policy(tmp_path)
    path = tmp_path / "steward.yaml"
    path.write_text(PRODUCTION_DEMO.replace("production", "staging"))
    declared = Settings(_env_file=None, catalog_path=path, targets={})
    result = await gate_with(sqlite_engine, declared, policy_dir).gate(request("demo.restart", {}))
    assert result.decision.approval is not None
    # The catalog says payments owns demo; data.json says sre.
    assert result.decision.approval.teams == ["payments"]
    assert result.decision.approval.principals == ["pat"]

    monkeypatch.delenv("STEWARD_CATALOG", raising=False)
    legacy = Settings(_env_file=None, targets={})
    before = await gate_with(sqlite_engine, legacy, policy_dir).gate(request("demo.restart", {}))
    assert before.decision.approval is not None
    assert before.decision.approval.teams == ["sre"]
    assert before.decision.approval.principals == ["sam"]
