"""A bad service catalog stops the worker, ``steward up`` and the API at start, in one line.

Each is a real process; the catalog and kubeconfig are small files under the test's folder.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from activities.policy.engine import EmbeddedPolicyEngine
from api.core.catalog import CatalogError
from api.core.settings import Settings
from tests.support.catalog import write_catalog
from tests.support.stack import PYTHON, run_supervisor, stack_env
from workers.worker import build_worker

pytestmark = pytest.mark.slow


def missing_context_env(tmp_path: Path) -> tuple[dict[str, str], str]:
    """Settings whose catalog names a context its kubeconfig lacks, and the expected line."""
    catalog = write_catalog(tmp_path, context="prod-us")
    kubeconfig = tmp_path / "kube" / "config"
    env = {**stack_env(tmp_path / "home"), "STEWARD_CATALOG": str(catalog)}
    env.pop("STEWARD_TARGETS", None)
    line = (
        f"service catalog {catalog}: clusters.prod-eu: context 'prod-us' is not in kubeconfig "
        f"file {kubeconfig} (its contexts: prod-eu, staging)"
    )
    return env, line


def test_a_worker_with_a_missing_context_exits_at_start_with_one_line(tmp_path: Path) -> None:
    env, line = missing_context_env(tmp_path)
    done = subprocess.run(
        [PYTHON, "-m", "workers.worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"steward worker: {line}\n"


def test_steward_up_with_an_invalid_catalog_stops_before_starting_anything(
    tmp_path: Path,
) -> None:
    catalog = tmp_path / "steward.yaml"
    catalog.write_text("services:\n  checkout:\n    owners: team\n    target: {kind: demo}\n")
    env = {**stack_env(tmp_path / "home"), "STEWARD_CATALOG": str(catalog)}
    done = run_supervisor(env)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"steward up: invalid service catalog {catalog}: services.checkout.owners: "
        "Input should be a valid list\n"
    )
    assert "started" not in done.stdout


def test_steward_up_with_a_missing_kubeconfig_stops(tmp_path: Path) -> None:
    env, _ = missing_context_env(tmp_path)
    (tmp_path / "kube" / "config").unlink()
    done = run_supervisor(env)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"steward up: service catalog {env['STEWARD_CATALOG']}: clusters.prod-eu: "
        f"kubeconfig file {tmp_path / 'kube' / 'config'} not found\n"
    )


def test_the_api_with_a_missing_context_exits_at_start_with_one_line(tmp_path: Path) -> None:
    env, line = missing_context_env(tmp_path)
    done = subprocess.run(
        [PYTHON, "-m", "uvicorn", "api.main:app", "--port", env["STEWARD_API_PORT"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"steward api: {line}\n"


@pytest.mark.asyncio(loop_scope="session")
async def test_build_worker_refuses_a_missing_kubeconfig(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    tmp_path: Path,
) -> None:
    catalog = write_catalog(tmp_path / "catalog")
    (tmp_path / "catalog" / "kube" / "config").unlink()
    bad = settings.model_copy(update={"catalog_path": catalog})
    async with httpx.AsyncClient() as http:
        with pytest.raises(CatalogError, match="clusters.prod-eu: kubeconfig file .* not found"):
            build_worker(temporal_env.client, bad, engine, http, EmbeddedPolicyEngine())
