"""``pg_kill_long_queries``: end long-running queries on a PostgreSQL target, then verify."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome

with workflow.unsafe.imports_passed_through():
    from steward_postgres.playbook_params import KillLongQueriesParams, long_query_count_sql


@workflow.defn(name="pg_kill_long_queries")
class KillLongQueries(Playbook):
    """Cancel (or, with ``terminate``, terminate) long queries, then verify none are left.

    Params: see ``KillLongQueriesParams``; the target defaults to the incident's service.
    """

    params_model = KillLongQueriesParams

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run the playbook."""
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        """End the matching queries, then poll until none is left."""
        p = self.params_as(KillLongQueriesParams)
        target = p.target or incident.service
        selection = {
            "target": target,
            "state": "active",
            "min_duration_seconds": p.min_duration_seconds,
            "application_name": p.application_name,
            "usename": p.usename,
            "max_count": p.max_count,
        }
        if p.terminate:
            await self.act("pg.terminate_backend", selection)
        else:
            await self.act("pg.cancel_backend", selection)
        await self.verify(
            "pg.query_below",
            {"target": target, "sql": long_query_count_sql(p=p), "threshold": 1},
            within_seconds=p.verify_within_seconds,
        )
