"""Playbooks that exist only to exercise the Playbook base in tests."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome


@workflow.defn(name="test_compensating")
class Compensating(Playbook):
    """Flag on, scale out, purge the cache, then a verification that fails on purpose."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        await self.act("demo.feature_flag", {"flag": "safe_mode", "enabled": True})
        await self.act("demo.scale", {"replicas": 6})
        await self.act("demo.purge_cache", {})
        await self.verify("demo.p95_below", {"threshold_ms": 1}, within_seconds=1)


@workflow.defn(name="test_unknown_actuator")
class UnknownActuator(Playbook):
    """Asks for an actuator nobody registered."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        await self.act("demo.reboot_datacenter", {})


TEST_PLAYBOOKS = [Compensating, UnknownActuator]
