"""``steward incidents open``: open an incident with a playbook from the command line.

The same ``POST /api/v1/incidents`` as curl, with the same validation. Only the incident id
goes to stdout (``ID=$(steward incidents open ...)``); with ``--wait`` the outcome follows on
stderr and the exit status says whether it resolved.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from api.cli.http import api_command, connect
from api.cli.operator import incidents_app
from api.models.incidents import FINAL_STATUSES


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs as a dict; a value that reads as JSON (a number, true) is that.

    Raises:
        typer.BadParameter: A pair without ``=``.
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected key=value, got {pair!r}", param_hint="--param")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


@incidents_app.command("open")
@api_command
def open_incident(
    playbook: Annotated[str, typer.Option(help="The playbook to run (steward plugins).")],
    service: Annotated[str, typer.Option(help="The affected service.")] = "demo",
    signal: Annotated[str, typer.Option(help="What was observed, e.g. errors.")] = "manual",
    severity: Annotated[str, typer.Option(help="low, medium, high or critical.")] = "high",
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A playbook parameter, key=value.")
    ] = None,
    simulate: Annotated[bool, typer.Option(help="Plan the actions, change nothing.")] = False,
    wait: Annotated[
        bool, typer.Option(help="Wait for the outcome; exit 1 unless resolved.")
    ] = False,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds --wait waits.")] = 300.0,
) -> None:
    """Open an incident with a playbook; print its id (and, with --wait, its outcome)."""
    api = connect()
    body = {
        "service": service,
        "signal": signal,
        "severity": severity,
        "playbook": playbook,
        "mode": "simulate" if simulate else "apply",
        "params": parse_params(param or []),
    }
    created = api.request("POST", "/api/v1/incidents", json=body)
    typer.echo(created["id"])
    if not wait:
        return
    deadline = time.monotonic() + timeout
    found = created
    while found["status"] not in FINAL_STATUSES:
        if time.monotonic() > deadline:
            typer.echo(f"{created['id']} is still {found['status']} after {timeout:.0f}s", err=True)
            raise typer.Exit(1)
        time.sleep(0.5)
        found = api.request("GET", f"/api/v1/incidents/{created['id']}")
    reason = (found.get("outcome") or {}).get("reason", "")
    typer.echo(f"{created['id']}: {found['status']} {reason}".rstrip(), err=True)
    if found["status"] != "resolved":
        raise typer.Exit(1)
