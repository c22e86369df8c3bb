"""``PlaybookHarness``: a playbook on a real worker in Temporal's time-skipping test server.

Everything but the target is Steward's own production path: the worker Steward runs, the
gate, signed authorizations, the record activities, an SQLite app database and the signed
ledger. Actuators and checks are replaced by fakes (``steward.testing.fakes``), policy
decisions can be scripted (``steward.testing.policy``), and approvals are answered from a
script (``steward.testing.approvals``). Waits the workflow makes on timers (an approval's
expiry, the incident deadline) are skipped by the test server.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.actuators.registry import ACTUATORS, CHECKS
from activities.policy.engine import EmbeddedPolicyEngine
from api.core.converter import DATA_CONVERTER
from api.core.db import make_engine, migrate
from api.core.settings import Settings
from steward.testing.approvals import ApprovalAnswer, ApprovalDriver
from steward.testing.environment import test_server_path, workflow_type
from steward.testing.fakes import (
    FakeActuator,
    FakeCheck,
    RegistrySwap,
    fake_actuator_instance,
    fake_check_instance,
)
from steward.testing.policy import ScriptedDecision, ScriptedPolicy
from steward.testing.result import PlaybookResult, collect
from workers.worker import build_worker
from workflows.types import Evidence, IncidentInput, PlaybookOutcome

__all__ = ["PlaybookHarness"]


class PlaybookHarness:
    """Runs playbooks against fakes, scripted policy and scripted approvals.

    Use it as an async context manager::

        async with PlaybookHarness(playbooks=[RestartUnit]) as harness:
            restart = harness.fake_actuator("ssh.systemctl", before={"active": "active"})
            harness.fake_check("ssh.unit_active", results=[False, True])
            harness.script_policy("ssh.systemctl", NeedsApproval())
            result = await harness.run(RestartUnit, params={...}, approvals=[Approve(by="ann")])
        assert result.status == "resolved" and restart.applied == [...]

    Args:
        playbooks: Playbook classes to run that are not installed through an entry point
            (installed ones, the shipped ones among them, are always there; one given here
            that is installed too is registered once).
        home: A folder for the run's database and keys; a temporary one when omitted.
        policy_dir: The Rego bundle that decides unscripted actions (the shipped one).
    """

    def __init__(
        self,
        *,
        playbooks: Sequence[type] = (),
        home: Path | None = None,
        policy_dir: Path | None = None,
    ) -> None:
        self._extra = list(playbooks)
        self._own_home = home is None
        self.home = Path(home) if home is not None else Path(tempfile.mkdtemp("-steward-test"))
        settings = Settings(
            home=self.home,
            database_url=f"sqlite:///{(self.home / 'steward.db').resolve()}",
            signing_key=secrets.token_hex(16),
            task_queue=f"steward-testing-{uuid.uuid4().hex[:8]}",
            targets={},
        )
        if policy_dir is not None:
            settings = settings.model_copy(update={"policy_dir": Path(policy_dir)})
        self.settings = settings
        self._policy: ScriptedPolicy | None = None
        self._swap = RegistrySwap()
        self._env: WorkflowEnvironment | None = None
        self._http: httpx.AsyncClient | None = None
        self._worker: Worker | None = None
        self.engine: Engine | None = None

    async def __aenter__(self) -> PlaybookHarness:
        """Start the test server and the worker; on a failure, stop what had started.

        Raises:
            PolicyError: The policy directory does not compile.
            PluginError: An installed plugin cannot be loaded.
            TestServerMissingError: Temporal's test server is not installed.
        """
        try:
            await self._start()
        except BaseException as exc:
            await self.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def _start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(self.settings.resolved_database_url())
        migrate(self.engine)
        self._policy = ScriptedPolicy(real=EmbeddedPolicyEngine(settings=self.settings))
        self._env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=test_server_path(), data_converter=DATA_CONVERTER
        )
        self._http = httpx.AsyncClient(timeout=10)
        worker = build_worker(
            self._env.client,
            self.settings,
            self.engine,
            self._http,
            self._policy,
            extra_workflows=self._extra,
        )
        await worker.__aenter__()
        self._worker = worker  # only a started worker is stopped on exit

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the worker and the server; take the fakes out of the registries."""
        try:
            if self._worker is not None:
                await self._worker.__aexit__(exc_type, exc, tb)
            if self._http is not None:
                await self._http.aclose()
            if self._env is not None:
                await self._env.shutdown()
        finally:
            self._swap.restore()
            if self.engine is not None:
                self.engine.dispose()
            if self._own_home:
                shutil.rmtree(self.home, ignore_errors=True)

    def fake_actuator(
        self,
        name: str,
        *,
        before: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
        fail: str | None = None,
        undo_fails: str | None = None,
        tier: str | None = None,
        params: type[BaseModel] | None = None,
    ) -> FakeActuator:
        """Replace the actuator ``name`` with a fake for the rest of the harness.

        Args:
            name: The actuator.
            before: What its snapshot returns.
            result: What its apply returns (``{"ok": True}`` by default).
            fail: Apply fails, finally, with this message.
            undo_fails: Undo fails, finally, with this message.
            tier: For an actuator that is not installed: its tier.
            params: For an actuator that is not installed: its parameter model.

        Returns:
            The fake, whose ``calls`` record what Steward asked of it.
        """
        fake = FakeActuator(name=name, before=before or {}, fail=fail, undo_fails=undo_fails)
        if result is not None:
            fake.result = result
        self._swap.put(ACTUATORS, name, fake_actuator_instance(fake, tier=tier, params=params))
        return fake

    def fake_check(
        self,
        name: str,
        *,
        results: Sequence[bool] = (True,),
        observed: dict[str, Any] | None = None,
        params: type[BaseModel] | None = None,
    ) -> FakeCheck:
        """Replace the check ``name`` with one that answers ``results`` in turn (the last repeats).

        A check that keeps failing fails the verification only once its window has passed,
        in real time: give the playbook a short window in tests.
        """
        fake = FakeCheck(name=name, results=list(results), observed=observed or {})
        self._swap.put(CHECKS, name, fake_check_instance(fake, params=params))
        return fake

    def script_policy(self, actuator: str, decision: ScriptedDecision) -> None:
        """Decide every call of ``actuator`` with ``decision`` instead of the Rego bundle."""
        self._running().script[actuator] = decision

    def _running(self) -> ScriptedPolicy:
        if self._policy is None or self._env is None or self.engine is None:
            raise RuntimeError("use the harness inside 'async with PlaybookHarness(...)'")
        return self._policy

    async def run(
        self,
        playbook: str | type,
        *,
        params: dict[str, Any] | None = None,
        service: str = "demo",
        signal: str = "test",
        severity: str = "high",
        opened_by: str = "tester",
        mode: str = "apply",
        evidence: Sequence[Evidence] = (),
        approvals: Sequence[ApprovalAnswer] = (),
    ) -> PlaybookResult:
        """Open an incident with ``playbook`` and run it to the end.

        Args:
            playbook: The playbook class or its workflow type.
            params: The playbook's parameters.
            service: The incident's service.
            signal: The incident's signal.
            severity: The incident's severity.
            opened_by: Who opened it (the real policy keeps them from approving).
            mode: ``apply``, or ``simulate`` to plan without acting.
            evidence: Evidence the incident opens with.
            approvals: Answers to its approval requests, in order.

        Raises:
            ScriptError: The run ended with answers left over, or no request came.
        """
        self._running()
        env, engine = self._env, self.engine
        assert env is not None and engine is not None  # _running() checked them
        incident = IncidentInput(
            service=service,
            signal=signal,
            severity=severity,
            opened_by=opened_by,
            window_start=datetime.now(UTC).isoformat(),
            params=dict(params or {}),
            mode=mode,
            evidence=list(evidence),
        )
        handle = await env.client.start_workflow(
            workflow_type(playbook),
            incident,
            id=f"inc-{uuid.uuid4().hex[:16]}",
            task_queue=self.settings.task_queue,
            result_type=PlaybookOutcome,
        )
        driver = ApprovalDriver(env=env, engine=engine, handle=handle, answers=list(approvals))
        await driver.run()
        outcome = await handle.result()
        return collect(
            engine=engine,
            settings=self.settings,
            workflow_id=handle.id,
            outcome=outcome,
            history=await handle.fetch_history(),
            refused_votes=driver.refused,
        )
