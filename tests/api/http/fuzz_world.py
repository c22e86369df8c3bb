"""A whole Steward for the schema fuzz test: its own database, API on a socket, and a worker.

The worker runs in a thread with its own event loop: schemathesis drives a synchronous test,
during which the session's event loop does not run, and an in-process worker there would
never poll. Everything else is real: the Temporal dev server of the session, the demo
target, SQLite, the Rego policy.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine

from activities.policy.engine import EmbeddedPolicyEngine
from api.core.settings import Settings
from api.core.temporal import connect
from tests.workflows.playbooks import TEST_PLAYBOOKS
from workers.worker import build_worker


@dataclass(kw_only=True)
class FuzzWorld:
    """Where the API answers, its OpenAPI document, and the keys the passes use.

    Attributes:
        url: The API's base URL.
        fuzzer_key: A key whose roles cannot manage keys (so it cannot revoke itself).
        admin_key: A key for the key-management pass.
        admin_key_id: The admin key's id, which the key pass never targets.
        victim_key_ids: Keys the key pass rotates, expires and revokes.
    """

    url: str
    fuzzer_key: str
    admin_key: str
    admin_key_id: str
    victim_key_ids: list[str]


@contextmanager
def worker_in_thread(settings: Settings, engine: Engine) -> Iterator[None]:
    """Run a Steward worker on its own event loop in a thread until the block ends."""
    ready = threading.Event()
    failure: list[BaseException] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def work() -> None:
        client = await connect(settings)
        async with httpx.AsyncClient(timeout=10) as http:
            worker = build_worker(
                client,
                settings,
                engine,
                http,
                EmbeddedPolicyEngine(),
                extra_workflows=TEST_PLAYBOOKS,
            )
            async with worker:
                ready.set()
                await stop.wait()

    def run() -> None:
        try:
            loop.run_until_complete(work())
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="fuzz-worker", daemon=True)
    thread.start()
    if not ready.wait(60) or failure:
        raise RuntimeError(f"the worker did not start: {failure}")
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
