"""Helpers for audit tests: the CLI in a thread, playbooks that run to an end."""

from __future__ import annotations

import asyncio
from typing import Any

from click.testing import Result
from sqlalchemy import Engine
from temporalio.client import Client
from typer.testing import CliRunner

from api.cli.main import app
from api.core.settings import Settings
from api.ledger.store import entry_dict, incident_entries
from tests.workflows.helpers import incident_input, start, wait_for_approval
from workflows.types import ApprovalDecision, PlaybookOutcome


async def cli(*args: str) -> Result:
    """Run ``steward ARGS`` in a thread: the CLI runs its own event loop."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


def ledger(engine: Engine, incident_id: str) -> list[dict[str, Any]]:
    """The incident's ledger entries as dicts, in chain order."""
    return [entry_dict(row) for row in incident_entries(engine, incident_id)]


async def run_playbook(
    client: Client, settings: Settings, playbook: str, **params: Any
) -> tuple[str, PlaybookOutcome]:
    """Run a playbook that needs no approval to its end."""
    handle = await start(client, settings, playbook, incident_input(**params))
    return handle.id, await handle.result()


async def run_approved_error_burst(
    client: Client, settings: Settings, engine: Engine
) -> tuple[str, PlaybookOutcome]:
    """Run error_burst, approving its restart as an operator."""
    handle = await start(client, settings, "error_burst", incident_input("errors"))
    approval = await wait_for_approval(engine, handle.id)
    await handle.execute_update(
        "decide",
        ApprovalDecision(
            step=approval.step,
            principal="olivia",
            roles=["operator"],
            decision="approve",
            comment="go",
        ),
        result_type=str,
    )
    return handle.id, await handle.result()
