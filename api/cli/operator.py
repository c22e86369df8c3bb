"""Operator commands over the API: incidents, one incident's timeline, approvals, decisions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live

from api.cli.http import ApiClient, api_command, connect
from api.cli.render import approvals_table, incident_view, incidents_table, timeline

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=None, sort_keys=True))


def _list_incidents(api: ApiClient, status: str | None, service: str | None) -> list[Any]:
    params = {key: value for key, value in (("status", status), ("service", service)) if value}
    return list(api.request("GET", "/api/v1/incidents", params=params))


incidents_app = typer.Typer(
    help="List incidents, newest first (--watch keeps the list current); 'sweep' finds stale rows."
)


@incidents_app.callback(invoke_without_command=True)
@api_command
def incidents(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only this status, e.g. running.")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until Ctrl-C.")] = False,
    interval: Annotated[
        float, typer.Option(min=0.2, help="Seconds between refreshes with --watch.")
    ] = 2.0,
    count: Annotated[
        int | None, typer.Option(min=1, help="With --watch: stop after this many refreshes.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List incidents, newest first (--watch keeps the list current)."""
    if ctx.invoked_subcommand is not None:
        return
    api = connect()
    if not watch:
        found = _list_incidents(api, status, service)
        if as_json:
            _print_json(found)
        else:
            Console().print(incidents_table(found))
        return
    try:
        if as_json:  # one JSON document per line and refresh
            for _ in _refreshes(count, interval):
                _print_json(_list_incidents(api, status, service))
            return
        with Live(incidents_table([]), console=Console(), auto_refresh=False) as live:
            for _ in _refreshes(count, interval):
                live.update(incidents_table(_list_incidents(api, status, service)), refresh=True)
    except KeyboardInterrupt:
        return  # Ctrl-C is how a watch ends


def _refreshes(count: int | None, interval: float) -> Iterator[int]:
    done = 0
    while count is None or done < count:
        if done:
            time.sleep(interval)
        done += 1
        yield done


@api_command
def incident(
    incident_id: Annotated[str, typer.Argument(help="The incident id (inc-...).")],
    as_json: JsonOption = False,
) -> None:
    """Show one incident: its steps, policy decisions, approvals and votes as a timeline."""
    found = connect().request("GET", f"/api/v1/incidents/{incident_id}")
    if as_json:
        _print_json({**found, "timeline": timeline(found)})
    else:
        Console().print(incident_view(found))


@api_command
def approvals(
    status: Annotated[
        str, typer.Option(help="pending, approved, rejected or timeout.")
    ] = "pending",
    as_json: JsonOption = False,
) -> None:
    """List approval requests (the pending queue by default)."""
    found = connect().request("GET", "/api/v1/approvals", params={"status": status})
    if as_json:
        _print_json(found)
    else:
        Console().print(approvals_table(found, status))


def _decide(approval_id: str, decision: str, comment: str | None) -> None:
    api = connect()
    body = {"decision": decision, "comment": comment}
    # On stderr, so that stdout carries only the result.
    with Console(stderr=True).status(f"Sending {decision} for {approval_id}…"):
        answer = api.request("POST", f"/api/v1/approvals/{approval_id}/decision", json=body)
    typer.echo(
        f"Counted your {decision} of {answer['approval_id']}; the approval is {answer['status']}."
    )


CommentOption = Annotated[
    str | None, typer.Option("--comment", "-m", help="Recorded with your vote.")
]


@api_command
def approve(
    approval_id: Annotated[str, typer.Argument(help="The approval id (<incident>.<step>).")],
    comment: CommentOption = None,
) -> None:
    """Approve a pending action (eligibility is decided by policy)."""
    _decide(approval_id, "approve", comment)


@api_command
def reject(
    approval_id: Annotated[str, typer.Argument(help="The approval id (<incident>.<step>).")],
    comment: CommentOption = None,
) -> None:
    """Reject a pending action; the playbook stops without running it."""
    _decide(approval_id, "reject", comment)


@incidents_app.command("sweep")
@api_command
def sweep(
    repair: Annotated[
        bool, typer.Option("--repair", help="Make the rows final and record it in the ledger.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Find incident rows whose workflow has ended or is gone while the row says it runs (admins).

    Without --repair only reports. The same sweep repairs on its own every
    STEWARD_INCIDENT_SWEEP_SECONDS.
    """
    found = connect().request("POST" if repair else "GET", "/api/v1/incidents/sweep")
    if as_json:
        _print_json(found)
        return
    if not found["findings"]:
        typer.echo("No stale incident rows.")
        return
    for f in found["findings"]:
        verb = "repaired" if f["repaired"] else ("left" if repair else "would become")
        typer.echo(
            f"{f['incident_id']}: {f['row_status']} (workflow {f['workflow_status']}) "
            f"{verb} {f['final_status']}: {f['reason']}"
        )


def register(app: typer.Typer) -> None:
    """Add the operator commands to ``app``."""
    app.add_typer(incidents_app, name="incidents")
    for command in (incident, approvals, approve, reject):
        app.command()(command)
