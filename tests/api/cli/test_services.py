"""``steward services`` against a real API serving a catalog file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.core.settings import Settings
from tests.support.catalog import use_catalog
from tests.support.cli import Steward

SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def catalog(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's settings with a catalog file (asked for before the API starts)."""
    return use_catalog(tmp_path / "catalog", monkeypatch)


@SESSION_LOOP
async def test_services_lists_the_catalog(
    catalog: Path, steward: Steward, api_keys: dict[str, str]
) -> None:
    as_json = await steward("services", "--json", key=api_keys["auditor"])
    assert as_json.exit_code == 0, as_json.output
    listed = json.loads(as_json.stdout)
    assert [s["name"] for s in listed] == ["billing", "checkout", "demo", "search"]
    assert listed[1]["target"]["workload"] == {"kind": "Deployment", "name": "checkout"}

    table = await steward("services", key=api_keys["auditor"])
    assert table.exit_code == 0, table.output
    rows = {line.split()[0]: line for line in table.stdout.splitlines()[3:] if line.strip()}
    assert "prod-eu (context prod-eu) shop/Deployment/checkout" in rows["checkout"]
    assert "production" in rows["checkout"] and "team-payments" in rows["checkout"]
    assert "p95_ms" in rows["checkout"]
    assert "local (in-cluster) search/app=search" in rows["search"]
    assert "http://127.0.0.1:9/" in rows["billing"] and "hunter2" not in table.stdout
    assert "(policy data)" in rows["demo"] and "the built-in demo target" in rows["demo"]


@SESSION_LOOP
async def test_services_without_a_key_or_server(catalog: Path, steward: Steward) -> None:
    refused = await steward("services", key="stw_nothing_here")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: 401:")
    unreachable = await steward("services", key="stw_x", STEWARD_API_URL="http://127.0.0.1:9")
    assert unreachable.exit_code == 3
    assert "cannot reach the Steward API" in unreachable.stderr
