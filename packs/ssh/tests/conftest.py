"""Fixtures of the SSH pack's tests: a real sshd world, and Steward's own shared fixtures.

Steward's ``settings``, ``engine`` and ``temporal_env`` fixtures are re-exported from
``tests.conftest`` for the end-to-end test on a real worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from ssh_world import SshWorld, require_sshd, running_sshd
from steward_ssh.catalog import CATALOG_ENV

from activities.actuators.registry import ActuatorContext
from api.core.settings import Settings
from tests.conftest import engine, settings, steward_env, temporal_env

__all__ = ["ctx", "engine", "settings", "steward_env", "temporal_env", "world"]

COMMANDS = """
[commands.hello]
argv = ["sh", "-c", "echo ran >> \\"$0\\"; echo hello $1", "{marker}", "it's quoted; $HOME"]

[commands.broken]
argv = ["sh", "-c", "echo bad disk >&2; exit 7"]
"""


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SshWorld]:
    """A running sshd and a catalog naming it ``box``, set as the worker's catalog."""
    require_sshd()
    with running_sshd(tmp_path / "ssh") as running:
        commands = COMMANDS.replace("{marker}", str(tmp_path / "marker"))
        monkeypatch.setenv(CATALOG_ENV, str(running.catalog(commands=commands)))
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def ctx() -> AsyncIterator[ActuatorContext]:
    """A real actuator context, as the worker builds it."""
    async with httpx.AsyncClient(timeout=10) as http:
        yield ActuatorContext(http, Settings(), "inc-ssh:1")
