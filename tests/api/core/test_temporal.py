"""What "Temporal was not reached" means, told from real failures of the real client."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.core.temporal import is_transport_failure
from tests.support.environment import binary
from tests.support.temporal_server import RestartableTemporal


@pytest.mark.parametrize("how", ["kill", "stop"])
async def test_a_call_cut_off_by_the_server_going_away_is_a_transport_failure(
    tmp_path: Path, how: str
) -> None:
    server = RestartableTemporal(binary("temporal"), tmp_path / "temporal")
    server.start()
    try:
        client = await Client.connect(server.address)
        # An Update the server holds open: no worker polls this task queue to take it.
        handle = await client.start_workflow("nobody_runs_this", id="w", task_queue="nobody")
        call = asyncio.ensure_future(handle.execute_update("decide", "x", id="u"))
        await asyncio.sleep(1.0)
        assert not call.done()
        server.kill() if how == "kill" else server.stop()
        with pytest.raises((RPCError, WorkflowUpdateFailedError)) as failed:
            await asyncio.wait_for(call, 60)
    finally:
        server.stop()
    assert is_transport_failure(failed.value), repr(failed.value)
