"""``steward plugins``: what is loaded, from where, at which version; no Temporal, no API."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api.cli.main import app
from api.core.settings import Settings
from tests.support.plugins import GOOD_ENTRY_POINTS, PluginWorld


def test_steward_plugins_lists_shipped_and_plugin_items(
    plugin_world: PluginWorld, settings: Settings
) -> None:
    dist = plugin_world.distribution(plugin_world.package(), GOOD_ENTRY_POINTS, version="0.9.1")
    listed = CliRunner().invoke(app, ["plugins", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {(row["kind"], row["name"]): row for row in json.loads(listed.stdout)}
    assert rows[("playbook", "extra_note")] == {
        "kind": "playbook",
        "name": "extra_note",
        "origin": f"entry point steward.playbooks:extra_note from {dist} 0.9.1",
        "version": "0.9.1",
    }
    assert {("actuator", "extra.note"), ("check", "extra.always"), ("source", "extra")} <= set(rows)
    assert rows[("actuator", "demo.scale")]["origin"].startswith(
        "entry point steward.actuators:demo.scale from steward "
    )
    assert {kind for kind, _ in rows} == {"playbook", "actuator", "check", "source"}

    table = CliRunner().invoke(app, ["plugins"], env={"COLUMNS": "250"})
    assert table.exit_code == 0, table.output
    line = next(line for line in table.stdout.splitlines() if " extra.always " in line)
    assert line.split() == [
        "check",
        "extra.always",
        "entry",
        "point",
        "steward.checks:extra.always",
        "from",
        dist,
        "0.9.1",
        "0.9.1",
    ]


def test_steward_plugins_reports_a_broken_plugin_in_one_line(
    plugin_world: PluginWorld, settings: Settings
) -> None:
    package = plugin_world.package()
    dist = plugin_world.distribution(package, {"steward.sources": {"gone": "broken:GONE"}})
    listed = CliRunner().invoke(app, ["plugins"])
    assert listed.exit_code == 2
    assert listed.stderr == (
        f"steward plugins: plugin entry point steward.sources:gone from {dist} 1.2.3 failed to "
        "import: ModuleNotFoundError: No module named 'steward_no_such_module_anywhere'\n"
    )
