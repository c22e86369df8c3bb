"""A broken plugin stops the worker and ``steward up`` at start, in one line, without a trace."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from activities.policy.engine import EmbeddedPolicyEngine
from api.core.settings import Settings
from tests.support.plugins import GOOD_ENTRY_POINTS, PluginWorld
from tests.support.stack import PYTHON, run_supervisor, stack_env
from workers.worker import build_worker
from workflows.plugin_discovery import PluginError


@pytest.mark.asyncio(loop_scope="session")
async def test_a_playbook_calling_an_unknown_actuator_is_refused_at_worker_build(
    plugin_world: PluginWorld,
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
) -> None:
    package = plugin_world.package()
    plugin_world.distribution(
        package,
        {**GOOD_ENTRY_POINTS, "steward.playbooks": {"extra_typo": "typo:ExtraTypo"}},
    )
    typo = plugin_world.root / package / "typo.py"
    async with httpx.AsyncClient() as http:
        with pytest.raises(PluginError) as refused:
            build_worker(temporal_env.client, settings, engine, http, EmbeddedPolicyEngine())
    assert str(refused.value) == (
        f"playbook extra_typo calls unknown actuator 'extra.nope' ({typo}:18); "
        f"playbook extra_typo calls unknown check 'extra.never' ({typo}:19)"
    )


def broken_plugin_env(plugin_world: PluginWorld, home: Path) -> tuple[dict[str, str], str]:
    """Settings for a process whose plugin module fails to import, and that module's name."""
    module = f"{plugin_world.package()}.broken"
    env = {
        **stack_env(home),
        "PYTHONPATH": os.pathsep.join([str(plugin_world.root), os.environ.get("PYTHONPATH", "")]),
        "STEWARD_PLUGIN_MODULES": module,
    }
    return env, module


@pytest.mark.slow
def test_a_worker_with_a_broken_plugin_exits_at_start_with_one_line(
    plugin_world: PluginWorld, tmp_path: Path
) -> None:
    env, module = broken_plugin_env(plugin_world, tmp_path / "home")
    done = subprocess.run(
        [PYTHON, "-m", "workers.worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"steward worker: plugin module {module} failed to import: "
        "ModuleNotFoundError: No module named 'steward_no_such_module_anywhere'\n"
    )


@pytest.mark.slow
def test_steward_up_with_a_broken_plugin_stops_before_starting_anything(
    plugin_world: PluginWorld, tmp_path: Path
) -> None:
    env, module = broken_plugin_env(plugin_world, tmp_path / "home")
    done = run_supervisor(env)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"steward up: plugin module {module} failed to import: "
        "ModuleNotFoundError: No module named 'steward_no_such_module_anywhere'\n"
    )
    assert "started" not in done.stdout
