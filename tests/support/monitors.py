"""Monitor names that are unique per test, and their Schedules deleted after it.

The Temporal dev server lives for the whole session; a Schedule left behind would keep starting
runs on a task queue no worker polls any more. Use in a test module by assignment::

    from tests.support import monitors as support_monitors

    monitor_names = support_monitors.monitor_names
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment


class MonitorNames:
    """Hands out unique monitor names and remembers them for clean-up."""

    def __init__(self) -> None:
        self.used: list[str] = []

    def __call__(self, prefix: str = "m") -> str:
        """Return a new unique name starting with ``prefix``."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.used.append(name)
        return name


@pytest_asyncio.fixture(loop_scope="session")
async def monitor_names(temporal_env: WorkflowEnvironment) -> AsyncIterator[MonitorNames]:
    """Unique monitor names; every ``monitor-<name>`` Schedule is deleted after the test."""
    names = MonitorNames()
    yield names
    for name in names.used:
        with contextlib.suppress(RPCError):  # never created, or the test deleted it
            await temporal_env.client.get_schedule_handle(f"monitor-{name}").delete()
