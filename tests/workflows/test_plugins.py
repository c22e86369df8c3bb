"""Playbooks from plugins: discovery, the static check of their calls, a real run and replay."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from activities.actuators.registry import ACTUATORS, CHECKS, ensure_registered
from api.core.settings import Settings
from api.services.audit.replay import known_workflows, replay_one
from tests.api.services.audit.helpers import cli
from tests.support.plugins import GOOD_ENTRY_POINTS, PluginWorld
from tests.workflows.helpers import incident_input, running_worker, start, steps
from tests.workflows.playbooks import UnknownActuator
from workflows.playbook_calls import NamedCall, named_calls, unknown_calls
from workflows.plugin_discovery import PluginError, PluginItem
from workflows.plugins import PLAYBOOK_ITEMS, PLAYBOOKS, load_playbooks
from workflows.registry import SYSTEM_WORKFLOWS, load_workflows

# The playbooks Steward ships (entry points in pyproject.toml).
SHIPPED = (
    "high_latency",
    "error_burst",
    "webhook_failures",
    "k8s_crashloop_rollback",
    "k8s_high_latency",
    "k8s_oom_raise_memory",
    "k8s_node_drain",
)


def shipped_playbooks() -> dict[str, type]:
    """Steward's own playbooks among those loaded (installed packs add theirs beside them)."""
    return {n: c for n, c in PLAYBOOKS.items() if c.__module__.startswith("workflows.")}


def test_plugin_playbooks_load_beside_the_shipped_ones(plugin_world: PluginWorld) -> None:
    package = plugin_world.package()
    dist = plugin_world.distribution(package, GOOD_ENTRY_POINTS)
    workflows = load_workflows(())
    assert PLAYBOOKS["extra_note"].__module__ == f"{package}.playbook"
    assert set(SHIPPED) == set(shipped_playbooks())
    assert "extra_note" in PLAYBOOKS
    assert set(workflows) == set(PLAYBOOKS) | set(SYSTEM_WORKFLOWS)
    assert (
        PluginItem(
            "playbook",
            "extra_note",
            f"entry point steward.playbooks:extra_note from {dist} 1.2.3",
            "1.2.3",
        )
        in PLAYBOOK_ITEMS
    )


def test_playbook_clashes_and_reserved_names_are_refused(plugin_world: PluginWorld) -> None:
    package = plugin_world.package()
    plugin_world.distribution(
        package, {"steward.playbooks": {"high_latency": "playbook:ExtraNote"}}
    )
    with pytest.raises(PluginError, match="name the entry point 'extra_note'"):
        load_playbooks(())
    shutil.rmtree(plugin_world.root / f"{package}-1.2.3.dist-info")

    other = plugin_world.package()
    first = plugin_world.distribution(
        other, {"steward.playbooks": {"extra_note": "playbook:ExtraNote"}}
    )
    # The same class from an entry point and from a module is one playbook, not a clash.
    load_playbooks((f"{other}.declared",))
    assert [item.name for item in PLAYBOOK_ITEMS].count("extra_note") == 1
    third = plugin_world.package(version="3.0")
    with pytest.raises(PluginError) as refused:
        load_playbooks((f"{third}.declared",))
    assert str(refused.value) == (
        f"playbook 'extra_note' is declared twice: by entry point steward.playbooks:extra_note "
        f"from {first} 1.2.3 and by module {third}.declared"
    )

    system = sorted(SYSTEM_WORKFLOWS)[0]
    (plugin_world.root / third / "reserved.py").write_text(
        (plugin_world.root / third / "playbook.py")
        .read_text()
        .replace('name="extra_note"', f'name="{system}"')
        + "\nSTEWARD_PLAYBOOKS = [ExtraNote]\n"
    )
    with pytest.raises(PluginError) as reserved:
        load_workflows((f"{third}.reserved",))
    assert str(reserved.value) == (
        f"playbook '{system}' from module {third}.reserved takes the name of a workflow "
        "Steward itself runs"
    )


def test_the_static_check_finds_literal_names_in_the_source() -> None:
    calls = named_calls(UnknownActuator)
    assert [(c.kind, c.name) for c in calls] == [("actuator", "demo.reboot_datacenter")]
    assert isinstance(calls[0], NamedCall) and calls[0].where.endswith("playbooks.py:38")
    problems = unknown_calls(
        {"test_unknown_actuator": UnknownActuator}, actuators={"demo.scale"}, checks=set()
    )
    assert problems == [
        "playbook test_unknown_actuator calls unknown actuator 'demo.reboot_datacenter' "
        f"({calls[0].where})"
    ]
    # The shipped playbooks call only registered names; with none registered, each is named.
    load_workflows(())
    ensure_registered()
    assert unknown_calls(PLAYBOOKS, actuators=ACTUATORS, checks=CHECKS) == []
    unknown = unknown_calls(shipped_playbooks(), actuators=set(), checks=set())
    assert [line.split(" (")[0] for line in unknown] == [
        "playbook error_burst calls unknown actuator 'demo.restart'",
        "playbook error_burst calls unknown actuator 'demo.purge_cache'",
        "playbook error_burst calls unknown check 'demo.error_rate_below'",
        "playbook high_latency calls unknown actuator 'demo.scale'",
        "playbook high_latency calls unknown check 'demo.p95_below'",
        "playbook k8s_crashloop_rollback calls unknown actuator 'k8s.rollback'",
        "playbook k8s_crashloop_rollback calls unknown check 'k8s.pods_ready'",
        "playbook k8s_high_latency calls unknown actuator 'k8s.scale'",
        "playbook k8s_high_latency calls unknown check 'prometheus.query'",
        "playbook k8s_node_drain calls unknown actuator 'k8s.cordon'",
        "playbook k8s_node_drain calls unknown actuator 'k8s.drain'",
        "playbook k8s_node_drain calls unknown check 'k8s.node_drained'",
        "playbook k8s_oom_raise_memory calls unknown actuator 'k8s.set_resources'",
        "playbook k8s_oom_raise_memory calls unknown check 'k8s.rollout_complete'",
        "playbook k8s_oom_raise_memory calls unknown check 'k8s.pods_ready'",
        "playbook webhook_failures calls unknown actuator 'webhooks.replay'",
        "playbook webhook_failures calls unknown check 'webhooks.replayed'",
    ]


@pytest.mark.asyncio(loop_scope="session")
async def test_a_plugin_playbook_runs_on_a_real_worker_and_its_history_replays(
    plugin_world: PluginWorld,
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    engine: Engine,
    tmp_path: Path,
) -> None:
    plugin_world.distribution(plugin_world.package(), GOOD_ENTRY_POINTS)
    async with running_worker(temporal_env.client, settings, engine):
        handle = await start(temporal_env.client, settings, "extra_note", incident_input())
        outcome = await asyncio.wait_for(handle.result(), 60)
    assert outcome.status == "resolved", outcome
    recorded = [(s.kind, s.name, s.status) for s in steps(engine, handle.id)]
    assert recorded == [("act", "extra.note", "applied"), ("verify", "extra.always", "passed")]
    assert outcome.applied == [{"actuator": "extra.note", "step": 1}]

    history = await handle.fetch_history()
    registry = known_workflows()
    assert "extra_note" in registry
    replayed = await replay_one(history, registry)
    assert replayed.compatible, replayed.error
    by_cli = await cli("audit", "replay", handle.id)
    assert by_cli.exit_code == 0, by_cli.output
    assert f"compatible    {handle.id} (extra_note)" in by_cli.stdout
