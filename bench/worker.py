"""One benchmark worker process: ``python -m bench.worker {steward,bare} QUEUE``.

The throughput benchmark runs its workers as separate processes, as ``steward up`` does, so
that several of them can share the machine's cores. Connection and database come from the
``STEWARD_*`` environment the benchmark sets. Prints ``ready`` once it polls ``QUEUE``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import httpx
from temporalio.worker import Worker

from activities.policy.engine import EmbeddedPolicyEngine
from api.core.db import get_engine
from api.core.settings import get_settings
from api.core.temporal import connect
from bench.bare import Bare, noop
from bench.playbooks import ThreeActions
from workers.worker import build_worker, stop_on_signals

READY = "ready"


async def serve(side: str, queue: str) -> None:
    """Poll ``queue`` with the Steward worker or the bare baseline's until SIGTERM."""
    logging.getLogger("steward.notify").setLevel(logging.WARNING)
    settings = get_settings()
    client = await connect(settings)
    stop = stop_on_signals()
    async with httpx.AsyncClient() as http:
        if side == "bare":
            worker = Worker(client, task_queue=queue, workflows=[Bare], activities=[noop])
        else:
            worker = build_worker(
                client,
                settings,
                get_engine(),
                http,
                EmbeddedPolicyEngine(),
                task_queue=queue,
                extra_workflows=[ThreeActions],
            )
        async with worker:
            print(READY, flush=True)
            await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("side", choices=["steward", "bare"])
    parser.add_argument("queue")
    args = parser.parse_args()
    asyncio.run(serve(args.side, args.queue))
