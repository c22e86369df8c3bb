"""``steward slack``: which principal each Slack user acts as (admins, over the API)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from api.cli.http import api_command, connect
from api.cli.render import moment

app = typer.Typer(
    help="Link Slack users to principals, so their Approve/Reject buttons count (admins only).",
    no_args_is_help=True,
)


@app.command("link")
@api_command
def link(
    slack_user: Annotated[str, typer.Argument(help="Slack user id, e.g. U024BE7LH.")],
    principal: Annotated[str, typer.Argument(help="The principal the Slack user acts as.")],
) -> None:
    """Let a Slack user act as a principal, with the roles of its active API keys."""
    found = connect().request(
        "PUT", f"/api/v1/slack/links/{slack_user}", json={"principal": principal}
    )
    typer.echo(f"Slack user {found['slack_user_id']} now acts as {found['principal']}.")


@app.command("unlink")
@api_command
def unlink(slack_user: Annotated[str, typer.Argument(help="Slack user id.")]) -> None:
    """Remove a Slack user's link; their buttons and commands stop counting."""
    connect().request("DELETE", f"/api/v1/slack/links/{slack_user}")
    typer.echo(f"Slack user {slack_user} is no longer linked.")


@app.command("links")
@api_command
def links(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List Slack user links."""
    found = connect().request("GET", "/api/v1/slack/links")
    if as_json:
        typer.echo(json.dumps(found, sort_keys=True))
        return
    table = Table(title="Slack links (UTC)", box=box.SIMPLE_HEAD, title_justify="left")
    for column in ("slack user", "principal", "linked by", "linked at"):
        table.add_column(column, overflow="fold")
    for row in found:
        table.add_row(
            Text(row["slack_user_id"]),
            Text(row["principal"]),
            Text(row["created_by"]),
            Text(moment(row["created_at"])),
        )
    Console().print(table)
