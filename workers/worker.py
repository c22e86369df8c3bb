"""The Steward worker process: every playbook and every activity on one task queue.

Run with ``python -m workers.worker`` (``steward up`` does it for you).
"""

from __future__ import annotations

import asyncio
import compileall
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.catalog import build_activities
from activities.policy.engine import PolicyEngine
from activities.policy.factory import make_policy_engine
from api.core.catalog import CatalogError
from api.core.db import get_engine
from api.core.settings import Settings, get_settings
from api.core.temporal import connect
from api.services.incidents import opener_for_findings
from api.services.plugins import PluginError, load_plugins
from api.services.sweep_schedule import ensure_sweep_schedule
from workflows.registry import registered_workflows
from workflows.run_guard import PLAYBOOK_BUG_TYPES

logger = logging.getLogger("steward.worker")

# How long a starting worker waits for Temporal: a dev server restarted by ``steward up`` after
# a crash takes a few seconds to listen again.
CONNECT_WITHIN_SECONDS = 60.0
# Exit status of a worker whose plugins cannot be loaded (a user error, as a bad setting).
PLUGINS_FAILED = 2

# Steward's own deterministic framework modules are imported once, not re-imported into every
# workflow's sandbox (that re-import dominated worker CPU). Playbooks stay sandboxed.
FRAMEWORK_MODULES = (
    "workflows.playbook",
    "workflows.compensation",
    "workflows.gating",
    "workflows.playbook_params",
    "workflows.playbook_types",
    "workflows.recording",
    "workflows.run_guard",
    "workflows.types",
    "workflows.approval_state",
    "workflows.approval_rounds",
    "activities",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox every Steward worker runs playbooks in."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*FRAMEWORK_MODULES)
    return SandboxedWorkflowRunner(restrictions=restrictions)


def cache_workflow_bytecode(workflows: Sequence[type]) -> None:
    """Write the bytecode cache of the workflows' own modules when it is missing or stale.

    The sandbox imports a workflow's module afresh for every run; without a cache (as under
    ``PYTHONDONTWRITEBYTECODE=1``, common in container images) each run compiles the source
    again. A folder that cannot be written only costs that time.
    """
    for module in {sys.modules[w.__module__] for w in workflows}:
        source = getattr(module, "__file__", None)
        if source and source.endswith(".py"):
            compileall.compile_file(source, quiet=2)


def build_worker(
    client: Client,
    settings: Settings,
    engine: Engine,
    http: httpx.AsyncClient,
    policy: PolicyEngine,
    *,
    task_queue: str | None = None,
    extra_workflows: Sequence[type] = (),
) -> Worker:
    """Assemble a worker with every playbook and activity.

    The playbooks, actuators, checks and source kinds are found anew (entry points and
    ``settings.plugin_modules``) and the playbooks' literal actuator and check names are
    checked against them; ``extra_workflows`` are not checked, so that tests can exercise the
    run-time refusal of an unknown name.

    Args:
        client: Connected Temporal client.
        settings: Runtime settings.
        engine: App database engine.
        http: Shared HTTP client for actuators.
        policy: Policy engine for the gate.
        task_queue: Overrides ``settings.task_queue`` (tests use one queue each).
        extra_workflows: More playbooks to register (tests, benchmarks, the test kit); one
            that is installed already is not registered twice.

    Raises:
        PluginError: A plugin cannot be loaded, clashes, or a playbook calls an unknown name.
        CatalogError: The service catalog does not validate, or a cluster's kubeconfig file
            or context is missing.
    """
    load_plugins(settings)
    settings.catalog().check_reachable_config()
    registered = list(registered_workflows().values())
    # An extra that is also installed (a package under test after pip install -e .) is
    # registered once: Temporal refuses two workflows of one name.
    workflows = [*registered, *(cls for cls in extra_workflows if cls not in registered)]
    cache_workflow_bytecode(workflows)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=workflows,
        activities=build_activities(
            settings, engine, http, policy, client, opener_for_findings(client, engine, settings)
        ),
        workflow_runner=workflow_runner(),
        # A bug raised out of a workflow fails its run (and the sweeper closes its incident)
        # instead of retrying the workflow task forever.
        workflow_failure_exception_types=PLAYBOOK_BUG_TYPES,
        # Record activities use the synchronous database API: give them threads.
        activity_executor=ThreadPoolExecutor(max_workers=64),
        max_concurrent_activities=64,
    )


def stop_on_signals() -> asyncio.Event:
    """Return an event that SIGINT or SIGTERM sets (call inside the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def connect_when_up(
    settings: Settings, *, within_seconds: float = CONNECT_WITHIN_SECONDS
) -> Client:
    """Connect to Temporal, retrying while it (re)starts, e.g. after a crash under ``steward up``.

    Raises:
        Exception: The last connection error once ``within_seconds`` have passed.
    """
    deadline = time.monotonic() + within_seconds
    delay = 0.2
    while True:
        try:
            return await connect(settings)
        except Exception as exc:  # any failure to connect means "not up yet" until the deadline
            if time.monotonic() + delay > deadline:
                raise
            logger.warning(
                "Temporal at %s is not reachable yet: %s", settings.temporal_address, exc
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


@asynccontextmanager
async def policy_engine(settings: Settings) -> AsyncIterator[PolicyEngine]:
    """The engine ``STEWARD_POLICY_ENGINE`` chooses (embedded, or an OPA server), closed after.

    Raises:
        PolicyError: The policy directory does not compile.
        ValueError: A remote engine's ``opa_url`` is not an http(s) URL.
    """
    policy = make_policy_engine(settings)
    try:
        yield policy
    finally:
        await policy.aclose()


async def run(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run the worker until SIGINT or SIGTERM (or until ``stop`` is set, when given)."""
    client = await connect_when_up(settings)
    stop = stop or stop_on_signals()
    async with (
        httpx.AsyncClient(timeout=settings.http_timeout_seconds) as http,
        policy_engine(settings) as policy,
    ):
        worker = build_worker(client, settings, get_engine(), http, policy)
        async with worker:
            logger.info(
                "worker polling task queue %s, policy engine %s",
                settings.task_queue,
                settings.policy_engine,
            )
            await ensure_sweep_schedule(client, settings)
            await stop.wait()


def main() -> None:
    """Entry point of ``python -m workers.worker``.

    A plugin that cannot be loaded (or a playbook calling an unknown actuator), or a service
    catalog that does not validate (or names a missing kubeconfig or context), is reported in
    one line before anything connects, and the process exits with status 2.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = get_settings()
    try:
        load_plugins(settings)
        settings.catalog().check_reachable_config()
    except (PluginError, CatalogError) as error:
        print(f"steward worker: {error}", file=sys.stderr)
        raise SystemExit(PLUGINS_FAILED) from None
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
