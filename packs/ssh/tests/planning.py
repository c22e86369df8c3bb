"""A test playbook that asks for every action of the pack, for simulate-mode runs."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome


@workflow.defn(name="ssh_every_action")
class SshEveryAction(Playbook):
    """Restart a unit, then run an allow-listed command, on the host ``box``."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        await self.act("ssh.systemctl", {"host": "box", "unit": "web.service", "action": "stop"})
        await self.act("ssh.run", {"host": "box", "command": "hello"})
