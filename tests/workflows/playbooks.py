"""Playbooks that exist only to exercise the Playbook base in tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


@workflow.defn(name="test_apply_then_bug")
class ApplyThenBug(Playbook):
    """Scales out, then hits a bug (a KeyError) in its own code."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        await self.act("demo.scale", {"replicas": 6})
        settings: dict[str, Any] = {}
        await self.act("demo.scale", {"replicas": settings["replicas"]})


@workflow.defn(name="test_apply_then_nondeterminism")
class ApplyThenNondeterminism(Playbook):
    """Scales out, then reads the wall clock: the sandbox refuses (a workflow task failure)."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        await self.act("demo.scale", {"replicas": 6})
        await self.act("demo.scale", {"replicas": datetime.now().minute % 5 + 1})


@workflow.defn(name="test_apply_then_wait")
class ApplyThenWait(Playbook):
    """Scales out, then asks for a restart (critical: waits for an approval nobody gives)."""

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        await self.act("demo.scale", {"replicas": 6})
        await self.act("demo.restart", {})


@workflow.defn(name="test_apply_then_broken_signal")
class ApplyThenBrokenSignal(Playbook):
    """Scales out, then waits; its ``explode`` signal handler has a bug (outside remediate)."""

    def __init__(self) -> None:
        super().__init__()
        self._released = False

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        return await self.execute(incident)

    @workflow.signal(name="explode")
    def explode(self) -> None:
        raise ValueError("a bug in a signal handler")

    async def remediate(self, incident: IncidentInput) -> None:
        await self.act("demo.scale", {"replicas": 6})
        await workflow.wait_condition(lambda: self._released)


TEST_PLAYBOOKS = [
    Compensating,
    UnknownActuator,
    ApplyThenBug,
    ApplyThenNondeterminism,
    ApplyThenWait,
    ApplyThenBrokenSignal,
]
