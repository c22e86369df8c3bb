"""``steward plugins``: what this installation loads, where each item comes from, its version.

It loads the playbooks, actuators, checks and source kinds the way a worker does (entry points
and ``STEWARD_PLUGIN_MODULES``), with the same checks, and needs neither Temporal nor the API.
A plugin that cannot be loaded is one line on stderr and exit status 2, as at worker start.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from api.core.settings import get_settings
from api.services.plugins import PluginError, PluginItem, load_plugins

COLUMNS = ("kind", "name", "origin", "version")


def plugins_table(items: list[PluginItem]) -> Table:
    """Return the loaded items as a table, in load order (playbooks first)."""
    table = Table(title=f"Loaded extensions ({len(items)})", box=box.SIMPLE_HEAD)
    for column in COLUMNS:
        table.add_column(column, overflow="fold")
    for item in items:
        # Text(...) never parses markup: a plugin's name is shown as written.
        table.add_row(*(Text(getattr(item, column)) for column in COLUMNS))
    return table


def plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the loaded playbooks, actuators, checks and sources with origin and version."""
    try:
        items = load_plugins(get_settings())
    except PluginError as error:
        typer.echo(f"steward plugins: {error}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps([asdict(item) for item in items], indent=2))
        return
    Console(width=200).print(plugins_table(items))


def register(app: typer.Typer) -> None:
    """Add ``steward plugins`` to ``app``."""
    app.command("plugins")(plugins)
