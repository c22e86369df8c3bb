"""The pack's actuators (``ssh.systemctl``, ``ssh.run``) and check (``ssh.unit_active``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from activities.actuators.registry import (
    Actuator,
    ActuatorContext,
    Check,
    CheckResult,
    actuator,
    check,
)
from steward_ssh.catalog import Host, load_catalog
from steward_ssh.names import NAME_PATTERN, UNIT_PATTERN
from steward_ssh.remote import RemoteCommandError, run_remote


class HostParams(BaseModel):
    """A host, by its name in the SSH catalog."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(pattern=NAME_PATTERN)


class UnitParams(HostParams):
    """A systemd unit on a catalog host."""

    unit: str = Field(pattern=UNIT_PATTERN)


class SystemctlParams(UnitParams):
    """Restart, stop or start a unit."""

    action: Literal["restart", "stop", "start"]


class UnitActiveParams(UnitParams):
    """Healthy when ``<unit manager> is-active <unit>`` answers ``expected``."""

    expected: str = Field(default="active", pattern=r"^[a-z-]{1,30}$")


class RunParams(HostParams):
    """Run an allow-listed command, named as in the catalog's ``[commands]``."""

    command: str = Field(pattern=NAME_PATTERN)


async def unit_state(*, host: Host, unit: str) -> str:
    """Return what ``<unit manager> is-active <unit>`` prints (``active``, ``inactive``, ...).

    Raises:
        RemoteCommandError: The unit manager printed nothing (it is missing or broken).
    """
    # is-active exits non-zero for any state but active; its output is the answer.
    result = await run_remote(host=host, argv=[*host.unit_manager, "is-active", unit])
    state = result.stdout.splitlines()[-1].strip() if result.stdout else ""
    if not state:
        raise RemoteCommandError(
            f"is-active {unit} printed nothing (exit {result.exit_status}): {result.stderr}"
        )
    return state


async def unit_command(*, host: Host, unit: str, verb: str) -> None:
    """Run ``<unit manager> <verb> <unit>`` and require exit status 0.

    Raises:
        RemoteCommandError: The unit manager failed, with its exit status and error output.
    """
    result = await run_remote(host=host, argv=[*host.unit_manager, verb, unit])
    if result.exit_status != 0:
        raise RemoteCommandError(
            f"{verb} {unit} exited {result.exit_status}: {result.stderr or result.stdout}"
        )


@actuator("ssh.systemctl", tier="warn", params=SystemctlParams)
class Systemctl(Actuator[SystemctlParams]):
    """Restart, stop or start a unit on a host; undo restores its active or inactive state."""

    def target(self, settings: Any, p: SystemctlParams) -> str:
        """The catalog host (what policy sees as the target)."""
        return p.host

    async def snapshot(self, ctx: ActuatorContext, p: SystemctlParams) -> dict[str, Any]:
        """Record the unit's ``is-active`` state."""
        host = load_catalog().host(p.host)
        return {"state": await unit_state(host=host, unit=p.unit)}

    async def apply(self, ctx: ActuatorContext, p: SystemctlParams) -> dict[str, Any]:
        """Run the action (start and stop are idempotent; a retried restart restarts again)."""
        host = load_catalog().host(p.host)
        await unit_command(host=host, unit=p.unit, verb=p.action)
        return {"host": p.host, "unit": p.unit, "state": await unit_state(host=host, unit=p.unit)}

    async def undo(
        self, ctx: ActuatorContext, p: SystemctlParams, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Start the unit if it was active before, else stop it.

        A restart cannot be unmade; its undo only makes sure the unit is running again.
        A unit that was ``failed`` before is restored as stopped, the nearest state.
        """
        host = load_catalog().host(p.host)
        verb = "start" if before.get("state") == "active" else "stop"
        await unit_command(host=host, unit=p.unit, verb=verb)
        return {"host": p.host, "unit": p.unit, "state": await unit_state(host=host, unit=p.unit)}

    def plan(self, p: SystemctlParams) -> str:
        """Describe the action."""
        return f"{p.action} {p.unit} on {p.host} over SSH"


@actuator("ssh.run", tier="critical", params=RunParams, irreversible=True)
class Run(Actuator[RunParams]):
    """Run an allow-listed catalog command on a host (cannot be undone)."""

    def target(self, settings: Any, p: RunParams) -> str:
        """The catalog host."""
        return p.host

    async def apply(self, ctx: ActuatorContext, p: RunParams) -> dict[str, Any]:
        """Run the command and require exit status 0; return its outputs.

        Raises:
            InvalidParametersError: Unknown host or a command that is not allow-listed.
            RemoteCommandError: The command exited non-zero.
        """
        catalog = load_catalog()
        host, command = catalog.host(p.host), catalog.command(p.command)
        result = await run_remote(host=host, argv=command.argv)
        if result.exit_status != 0:
            raise RemoteCommandError(
                f"{p.command} on {p.host} exited {result.exit_status}: {result.stderr}"
            )
        return {"host": p.host, "command": p.command, "exit_status": 0, "stdout": result.stdout}

    def plan(self, p: RunParams) -> str:
        """Describe the command by its catalog name."""
        return f"run {p.command} on {p.host} over SSH"


@check("ssh.unit_active", params=UnitActiveParams)
class UnitActive(Check[UnitActiveParams]):
    """A unit's ``is-active`` state on a host equals the expected one."""

    async def run(self, ctx: ActuatorContext, p: UnitActiveParams) -> CheckResult:
        """Ask the host once and compare."""
        try:
            host = load_catalog().host(p.host)
            state = await unit_state(host=host, unit=p.unit)
        except Exception as exc:  # noqa: BLE001 - an unreachable host is an unhealthy answer
            return CheckResult(False, {}, f"could not read {p.unit} on {p.host}: {exc}")
        ok = state == p.expected
        return CheckResult(ok, {"state": state}, f"{p.unit} is {state}, expected {p.expected}")
