"""The pack's playbook: restart a unit on a host, then verify it is active."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome

with workflow.unsafe.imports_passed_through():
    from steward_ssh.playbook_params import UnitRestartParams


@workflow.defn(name="ssh_unit_restart")
class UnitRestart(Playbook):
    """Restart a unit over SSH and verify that it is active.

    Params (see ``UnitRestartParams``): ``host`` and ``unit`` (required),
    ``verify_within_seconds`` (default 20). A failed verification compensates: the unit goes
    back to the state it was in before (started if it was active, stopped otherwise).
    """

    params_model = UnitRestartParams

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run the playbook."""
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        """Restart, then verify."""
        params = self.params_as(UnitRestartParams)
        unit = {"host": params.host, "unit": params.unit}
        await self.act("ssh.systemctl", {**unit, "action": "restart"})
        await self.verify("ssh.unit_active", unit, within_seconds=params.verify_within_seconds)
