"""The SSH pack against a real OpenSSH server, through Steward's registries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ssh_world import SshWorld, known_hosts_line, write_key
from steward_ssh.catalog import CATALOG_ENV, CatalogError
from steward_ssh.remote import HostKeyRefusedError, RemoteCommandError

from activities.actuators.registry import (
    ActuatorContext,
    InvalidParametersError,
    IrreversibleError,
    get_actuator,
    get_check,
    parse_params,
)


async def act(ctx: ActuatorContext, name: str, **params: Any) -> tuple[dict[str, Any], Any, Any]:
    """Snapshot then apply ``name`` as the worker does; return (before, result, parsed)."""
    actuator = get_actuator(name)
    parsed = parse_params(actuator.params_model, params, name)
    before = await actuator.snapshot(ctx, parsed)
    return before, await actuator.apply(ctx, parsed), parsed


async def unit_active(ctx: ActuatorContext, **params: Any) -> Any:
    """Run the ``ssh.unit_active`` check once."""
    check = get_check("ssh.unit_active")
    return await check.run(ctx, parse_params(check.params_model, params, "ssh.unit_active"))


def test_the_pack_declares_its_tiers_and_undo() -> None:
    """The entry points register the pack's classes with the declared tiers."""
    systemctl, run = get_actuator("ssh.systemctl"), get_actuator("ssh.run")
    assert (systemctl.tier, systemctl.irreversible) == ("warn", False)
    assert (run.tier, run.irreversible) == ("critical", True)
    assert type(systemctl).__module__ == "steward_ssh.actuators"


async def test_stop_then_undo_starts_the_unit_again(world: SshWorld, ctx: ActuatorContext) -> None:
    """Stopping an active unit is undone by starting it; the check sees each state."""
    world.set_unit("web.service", "active")
    before, result, parsed = await act(
        ctx, "ssh.systemctl", host="box", unit="web.service", action="stop"
    )
    assert before == {"state": "active"}
    assert result["state"] == "inactive"
    assert world.unit_state("web.service") == "inactive"
    assert (await unit_active(ctx, host="box", unit="web.service", expected="inactive")).ok

    undone = await get_actuator("ssh.systemctl").undo(ctx, parsed, before)
    assert undone["state"] == "active"
    assert world.unit_log("web.service") == ["stop", "start"]
    check = await unit_active(ctx, host="box", unit="web.service")
    assert (check.ok, check.observed) == (True, {"state": "active"})


async def test_restart_of_a_stopped_unit_is_undone_by_stopping_it(
    world: SshWorld, ctx: ActuatorContext
) -> None:
    """A restart of an inactive unit is undone by stopping it again."""
    before, result, parsed = await act(
        ctx, "ssh.systemctl", host="box", unit="worker@2.service", action="restart"
    )
    assert (before, result["state"]) == ({"state": "inactive"}, "active")
    await get_actuator("ssh.systemctl").undo(ctx, parsed, before)
    assert world.unit_log("worker@2.service") == ["restart", "stop"]
    check = await unit_active(ctx, host="box", unit="worker@2.service")
    assert (check.ok, check.observed["state"]) == (False, "inactive")
    assert "expected active" in check.detail


async def test_a_failing_unit_manager_fails_the_apply(
    world: SshWorld, ctx: ActuatorContext
) -> None:
    """A non-zero exit of the unit manager fails the apply with its error output."""
    world.units.mkdir(exist_ok=True)
    (world.units / "db.service.broken").write_text("")
    with pytest.raises(RemoteCommandError, match=r"start db.service exited 1: Job for db"):
        await act(ctx, "ssh.systemctl", host="box", unit="db.service", action="start")
    assert world.unit_state("db.service") == "inactive"


async def test_run_executes_only_allow_listed_commands(
    world: SshWorld, ctx: ActuatorContext, tmp_path: Path
) -> None:
    """ssh.run runs catalog commands word for word, refuses others, and cannot be undone."""
    before, result, parsed = await act(ctx, "ssh.run", host="box", command="hello")
    # Each catalog word reaches the remote command intact, quotes and $ included.
    assert result == {
        "host": "box",
        "command": "hello",
        "exit_status": 0,
        "stdout": "hello it's quoted; $HOME",
    }
    assert (tmp_path / "marker").read_text() == "ran\n"
    with pytest.raises(IrreversibleError):
        await get_actuator("ssh.run").undo(ctx, parsed, before)
    with pytest.raises(InvalidParametersError, match="'rm_rf' is not allow-listed.*broken, hello"):
        await act(ctx, "ssh.run", host="box", command="rm_rf")
    with pytest.raises(RemoteCommandError, match="broken on box exited 7: bad disk"):
        await act(ctx, "ssh.run", host="box", command="broken")


async def test_an_unknown_host_key_is_refused_before_anything_runs(
    world: SshWorld, ctx: ActuatorContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host key not in known_hosts (another key, or none) refuses the connection."""
    impostor = world.root / "impostor_known_hosts"
    impostor.write_text(known_hosts_line(world.port, write_key(world.root / "other_key")))
    empty = world.root / "empty_known_hosts"
    empty.write_text("")
    for known_hosts in (impostor, empty):
        monkeypatch.setenv(CATALOG_ENV, str(world.catalog(known_hosts=known_hosts)))
        with pytest.raises(HostKeyRefusedError, match="Host key is not trusted"):
            await act(ctx, "ssh.systemctl", host="box", unit="web.service", action="start")
        check = await unit_active(ctx, host="box", unit="web.service", expected="inactive")
        assert not check.ok
        assert "Host key is not trusted" in check.detail
    assert world.unit_log("web.service") == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"host": "box", "unit": "-H evil", "action": "start"}, "unit"),
        ({"host": "box", "unit": "a;reboot", "action": "start"}, "unit"),
        ({"host": "box", "unit": "web.service", "action": "reload"}, "action"),
        ({"host": "b ox", "unit": "web.service", "action": "start"}, "host"),
        ({"host": "box", "unit": "web.service", "action": "start", "port": 22}, "port"),
    ],
)
def test_parameters_are_checked_naming_the_field(params: dict[str, Any], field: str) -> None:
    """Option-like or shell-like unit names, unknown actions and extra keys are refused."""
    actuator = get_actuator("ssh.systemctl")
    with pytest.raises(InvalidParametersError, match=f"{field}:"):
        parse_params(actuator.params_model, params, "ssh.systemctl")


async def test_an_unknown_host_or_missing_catalog_is_refused(
    world: SshWorld, ctx: ActuatorContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hosts come from the catalog only; a missing or malformed catalog is an error."""
    with pytest.raises(
        InvalidParametersError, match="unknown SSH host 'nowhere'; catalog hosts: box"
    ):
        await act(ctx, "ssh.systemctl", host="nowhere", unit="web.service", action="start")
    monkeypatch.delenv(CATALOG_ENV)
    with pytest.raises(CatalogError, match=f"{CATALOG_ENV} is not set"):
        await act(ctx, "ssh.systemctl", host="box", unit="web.service", action="start")
    bad = world.root / "bad.toml"
    bad.write_text('[hosts.box]\naddress = "127.0.0.1"\n')
    monkeypatch.setenv(CATALOG_ENV, str(bad))
    with pytest.raises(CatalogError, match="invalid SSH catalog"):
        await act(ctx, "ssh.systemctl", host="box", unit="web.service", action="start")
