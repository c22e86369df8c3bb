"""``steward services``: the service catalog as the API serves it (``GET /api/v1/services``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from api.cli.http import api_command, connect

COLUMNS = ("name", "environment", "owners", "kind", "target", "queries")


def _where(target: dict[str, Any]) -> str:
    """One line saying how Steward reaches a service."""
    if target["kind"] == "http":
        return str(target["url"])
    if target["kind"] == "demo":
        return "the built-in demo target"
    reach = "in-cluster" if target["in_cluster"] else f"context {target['context'] or '(current)'}"
    workload = target["workload"]
    if workload is not None:
        what = f"{workload['kind']}/{workload['name']}"
    else:
        what = ",".join(f"{k}={v}" for k, v in sorted(target["selector"].items()))
    return f"{target['cluster']} ({reach}) {target['namespace']}/{what}"


def services_table(services: list[dict[str, Any]]) -> Table:
    """Return the catalog as a table, by service name."""
    table = Table(title=f"Services ({len(services)})", box=box.SIMPLE_HEAD, title_justify="left")
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    for service in services:
        cells = (
            service["name"],
            service["environment"] if service["declared"] else "(policy data)",
            ", ".join(service["owners"]) if service["declared"] else "(policy data)",
            service["target"]["kind"],
            _where(service["target"]),
            ", ".join(sorted(service["queries"])) or "-",
        )
        # Text(...) never parses markup: names and URLs are shown as written.
        table.add_row(*(Text(cell) for cell in cells))
    return table


@api_command
def services(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the service catalog: environment, owners, target and query names of each service."""
    found = connect().request("GET", "/api/v1/services")
    if as_json:
        typer.echo(json.dumps(found, indent=None, sort_keys=True))
        return
    Console(width=200).print(services_table(found))


def register(app: typer.Typer) -> None:
    """Add ``steward services`` to ``app``."""
    app.command("services")(services)
