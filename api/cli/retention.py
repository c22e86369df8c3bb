"""``steward retention prune``: delete operational rows past their retention.

``api.services.retention`` says which tables are operational and which are never pruned. Runs
directly on the app database, like ``steward keys``; the API also prunes every
``retention_prune_seconds``.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from api.core.db import get_engine
from api.core.settings import get_settings
from api.services.retention import prune as prune_tables

app = typer.Typer(help="Prune operational tables past their retention.", no_args_is_help=True)


@app.command()
def prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count the rows that would go; delete nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Delete refusal counts, refused votes, events and delivery attempts past retention."""
    settings = get_settings()
    report = prune_tables(get_engine(), settings, dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps({"dry_run": dry_run, "rows": report}))
        return
    if not report:
        typer.echo("Retention is off for every operational table (the settings are 0).")
        return
    verb = "would delete" if dry_run else "deleted"
    for table, rows in report.items():
        typer.echo(f"{table}: {verb} {rows} rows")
