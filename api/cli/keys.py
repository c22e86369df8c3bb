"""``steward keys``: create, list, rotate and revoke API keys (directly in the app database).

These commands manage keys on the machine that holds the database, which is how the first
admin key comes to exist; the same operations exist over HTTP for admins (``/api/v1/keys``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from api.core.db import get_engine, session_scope
from api.models import ApiKey, Role, utcnow
from api.schemas.admin import MAX_ROTATION_GRACE
from api.services.key_rotation import KeyStateError, rotate_api_key
from api.services.keys import create_api_key, key_status, list_api_keys, revoke_api_key

# Exit code for bad input, matching click's own usage errors.
USAGE_ERROR = 2

app = typer.Typer(
    help="Create, list, rotate and revoke API keys. A key's secret is shown once, at creation.",
    no_args_is_help=True,
)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(USAGE_ERROR)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _minutes(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else None


def _key_summary(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "principal": key.principal,
        "roles": list(key.roles),
        "status": key_status(key),
        "created_at": _iso(key.created_at),
        "expires_at": _iso(key.expires_at),
        "revoked_at": _iso(key.revoked_at),
        "last_used_at": _iso(key.last_used_at),
    }


@app.command("create")
def create(
    principal: Annotated[str, typer.Option("--principal", help="Who the key acts for.")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            help=f"Role to grant (repeatable): {', '.join(r.value for r in Role)}.",
        ),
    ],
    expires_in_days: Annotated[
        int | None,
        typer.Option(
            "--expires-in-days", min=1, help="Days until the key expires; never if unset."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the key as JSON.")] = False,
) -> None:
    """Create an API key and print it once."""
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    try:
        with session_scope(get_engine()) as session:
            key, token = create_api_key(session, principal, role, expires_at=expires_at)
    except ValueError as error:
        _fail(str(error))

    warning = "Store this key now: it will not be shown again."
    if as_json:
        created = {
            "id": key.id,
            "principal": key.principal,
            "roles": list(key.roles),
            "key": token,
            "expires_at": _iso(key.expires_at),
        }
        typer.echo(json.dumps(created))
    else:
        typer.echo(f"Created API key {key.id} for {key.principal} ({', '.join(key.roles)}).")
        if key.expires_at is not None:
            typer.echo(f"Expires at {key.expires_at.isoformat()}.")
        typer.echo(token)
    # On stderr so that scripts capturing stdout get only the key (or the JSON).
    typer.echo(warning, err=True)


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print the keys as JSON.")] = False,
) -> None:
    """List API keys (never their secrets)."""
    with session_scope(get_engine()) as session:
        keys = list_api_keys(session)

    if as_json:
        typer.echo(json.dumps([_key_summary(key) for key in keys]))
        return
    if not keys:
        typer.echo("No API keys. Create one with: steward keys create --principal NAME --role ROLE")
        return
    table = Table(title="API keys (times in UTC)", box=box.SIMPLE_HEAD)
    table.add_column("id", no_wrap=True)
    # Names and roles matter most; timestamps may wrap to "date / time" on narrow terminals.
    table.add_column("principal", min_width=10)
    table.add_column("roles", min_width=10)
    table.add_column("status", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("expires", overflow="fold")
    table.add_column("last used", overflow="fold")
    for key in keys:
        table.add_row(
            key.id,
            key.principal,
            ", ".join(key.roles),
            key_status(key),
            key.created_at.strftime("%Y-%m-%d"),
            _minutes(key.expires_at) or "never",
            _minutes(key.last_used_at) or "never",
        )
    Console().print(table)


@app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="Id of the key to revoke.")]) -> None:
    """Revoke an API key; it stops working immediately."""
    try:
        with session_scope(get_engine()) as session:
            key = revoke_api_key(session, key_id)
    except KeyError:
        _fail(f"unknown API key id {key_id!r}; see: steward keys list")
    revoked_at = key.revoked_at.isoformat() if key.revoked_at else ""
    typer.echo(f"Revoked API key {key.id} ({key.principal}) at {revoked_at}.")


@app.command("rotate")
def rotate(
    key_id: Annotated[str, typer.Argument(help="Id of the key to rotate.")],
    grace_seconds: Annotated[
        int,
        typer.Option(
            "--grace-seconds",
            min=0,
            max=int(MAX_ROTATION_GRACE.total_seconds()),
            help="How long the old secret keeps working; 0 revokes it at once.",
        ),
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the new key as JSON.")] = False,
) -> None:
    """Issue a new secret for a key's principal and roles, and retire the old key."""
    try:
        with session_scope(get_engine()) as session:
            new, token, old = rotate_api_key(session, key_id, timedelta(seconds=grace_seconds))
    except KeyError:
        _fail(f"unknown API key id {key_id!r}; see: steward keys list")
    except KeyStateError as error:
        _fail(str(error))
    if as_json:
        typer.echo(json.dumps({**_key_summary(new), "key": token, "replaces": _key_summary(old)}))
    else:
        retired = (
            "revoked now" if old.revoked_at is not None else f"works until {_iso(old.expires_at)}"
        )
        typer.echo(f"Rotated {old.id} -> {new.id} for {new.principal}; the old key {retired}.")
        typer.echo(token)
    typer.echo("Store this key now: it will not be shown again.", err=True)
