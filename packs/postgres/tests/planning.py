"""A test playbook that asks for every action of the pack, for simulate-mode runs."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.playbook_params import PlaybookParams
from workflows.types import IncidentInput, PlaybookOutcome


class SessionsOf(PlaybookParams):
    """Which target database, and whose sessions (by application name)."""

    target: str
    application_name: str


@workflow.defn(name="pg_every_action")
class PgEveryAction(Playbook):
    """Cancel, then terminate, the sessions of the application named in the params."""

    params_model = SessionsOf

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        selection = self.params_as(SessionsOf).model_dump()
        await self.act("pg.cancel_backend", selection)
        await self.act("pg.terminate_backend", selection)
