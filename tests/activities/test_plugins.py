"""Actuators, checks and source kinds from a real plugin distribution and from plugin modules."""

from __future__ import annotations

import pytest
from temporalio.exceptions import ApplicationError

from activities.actuators.registry import ACTUATORS, CHECKS, get_actuator, get_check
from activities.plugins import EXTENSION_ITEMS, load_extensions
from activities.sources.registry import SOURCES, source_kind
from api.core.settings import Settings
from tests.activities.actuators.test_http import run_apply
from tests.support.plugins import GOOD_ENTRY_POINTS, PluginWorld
from workflows.plugin_discovery import PluginError, PluginItem


def test_a_plugin_distribution_registers_beside_the_shipped_items(
    plugin_world: PluginWorld,
) -> None:
    package = plugin_world.package()
    dist = plugin_world.distribution(package, GOOD_ENTRY_POINTS)
    items = load_extensions(())
    origin = f"from {dist} 1.2.3"
    assert (
        PluginItem(
            "actuator", "extra.note", f"entry point steward.actuators:extra.note {origin}", "1.2.3"
        )
        in items
    )
    assert (
        PluginItem(
            "check", "extra.always", f"entry point steward.checks:extra.always {origin}", "1.2.3"
        )
        in items
    )
    assert PluginItem(
        "source", "extra", f"entry point steward.sources:extra {origin}", "1.2.3"
    ) in (items)
    shipped = next(item for item in items if item.name == "demo.scale")
    assert shipped.origin.startswith("entry point steward.actuators:demo.scale from steward ")
    assert get_actuator("extra.note").tier == "info" and get_actuator("demo.scale").tier == "warn"
    assert get_check("extra.always").name == "extra.always"
    assert source_kind({"kind": "extra"}).name == "extra"
    assert {"prometheus", "events", "extra"} <= set(SOURCES)


def test_a_name_clash_is_refused_naming_both_plugins(plugin_world: PluginWorld) -> None:
    first = plugin_world.distribution(plugin_world.package(), GOOD_ENTRY_POINTS)
    second_package = plugin_world.package(version="2.0")
    second = plugin_world.distribution(
        second_package, {"steward.actuators": {"extra.note": "actions:Note"}}, version="2.0"
    )
    before = dict(ACTUATORS)
    with pytest.raises(PluginError) as refused:
        load_extensions(())
    message = str(refused.value)
    assert message.startswith("actuator 'extra.note' is declared twice: by entry point ")
    assert f"steward.actuators:extra.note from {first} 1.2.3" in message
    assert f"steward.actuators:extra.note from {second} 2.0" in message
    assert before == ACTUATORS  # a refused load changes nothing


def test_a_plugin_that_fails_to_import_is_refused_naming_it(plugin_world: PluginWorld) -> None:
    package = plugin_world.package()
    dist = plugin_world.distribution(package, {"steward.checks": {"extra.gone": "broken:Gone"}})
    with pytest.raises(PluginError) as refused:
        load_extensions(())
    assert str(refused.value) == (
        f"plugin entry point steward.checks:extra.gone from {dist} 1.2.3 failed to import: "
        "ModuleNotFoundError: No module named 'steward_no_such_module_anywhere'"
    )


def test_an_actuator_without_undo_or_irreversible_is_refused(plugin_world: PluginWorld) -> None:
    package = plugin_world.package()
    dist = plugin_world.distribution(
        package, {"steward.actuators": {"extra.sloppy": "no_undo:Sloppy"}}
    )
    with pytest.raises(PluginError) as refused:
        load_extensions(())
    assert f"steward.actuators:extra.sloppy from {dist} 1.2.3 failed to import" in str(
        refused.value
    )
    assert "actuator extra.sloppy must define undo() or declare irreversible=True" in str(
        refused.value
    )
    assert "extra.sloppy" not in ACTUATORS


def test_an_entry_point_must_be_named_after_its_item(plugin_world: PluginWorld) -> None:
    package = plugin_world.package()
    dist = plugin_world.distribution(
        package, {"steward.actuators": {"extra.alias": "actions:Note"}}
    )
    with pytest.raises(PluginError) as refused:
        load_extensions(())
    assert str(refused.value) == (
        f"plugin entry point steward.actuators:extra.alias from {dist} 1.2.3 declares the "
        "actuator 'extra.note': name the entry point 'extra.note'"
    )


def test_an_entry_point_of_the_wrong_kind_is_refused(plugin_world: PluginWorld) -> None:
    package = plugin_world.package()
    plugin_world.distribution(package, {"steward.checks": {"extra.note": "actions:Note"}})
    with pytest.raises(PluginError, match="is not a Check class"):
        load_extensions(())


def test_plugin_modules_declare_the_same_items(plugin_world: PluginWorld) -> None:
    package = plugin_world.package(version="0.4")
    items = load_extensions((f"{package}.declared",))
    origin = f"module {package}.declared"
    assert PluginItem("actuator", "extra.note", origin, "0.4") in items
    assert PluginItem("check", "extra.always", origin, "0.4") in items
    assert PluginItem("source", "extra", origin, "0.4") in items
    assert "extra.note" in ACTUATORS and "extra.always" in CHECKS and items == EXTENSION_ITEMS

    with pytest.raises(PluginError) as refused:
        load_extensions((f"{package}.broken",))
    assert str(refused.value) == (
        f"plugin module {package}.broken failed to import: "
        "ModuleNotFoundError: No module named 'steward_no_such_module_anywhere'"
    )


def test_the_module_setting_is_a_comma_or_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_PLUGIN_MODULES", " acme.steward , other.mod ,")
    assert Settings().plugin_modules == ("acme.steward", "other.mod")
    monkeypatch.setenv("STEWARD_PLUGIN_MODULES", '["acme.steward"]')
    assert Settings().plugin_modules == ("acme.steward",)
    monkeypatch.delenv("STEWARD_PLUGIN_MODULES")
    assert Settings().plugin_modules == ()


@pytest.mark.asyncio(loop_scope="session")
async def test_parameters_failing_a_plugin_schema_are_not_retried_and_name_the_field(
    plugin_world: PluginWorld, settings: Settings
) -> None:
    plugin_world.distribution(plugin_world.package(), GOOD_ENTRY_POINTS)
    load_extensions(())
    assert await run_apply(settings, "extra.note", {"text": "hi", "times": 2}) == {
        "noted": "hihi",
        "key": "inc-http-test:3",
    }
    with pytest.raises(ApplicationError) as err:
        await run_apply(settings, "extra.note", {"text": "hi", "times": 9})
    assert err.value.type == "InvalidParameters" and err.value.non_retryable
    assert "invalid parameters for extra.note: times:" in str(err.value)
