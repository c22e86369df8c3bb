"""``steward playbook new NAME``: scaffold a playbook package in its own folder.

The package's playbook, actuator, check, tests (on ``steward.testing``), entry points and
README are ready to run: ``pip install -e . && pytest`` passes in the new folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.services.plugins import PluginError, playbooks
from api.services.scaffold import ScaffoldError, scaffold_package

app = typer.Typer(help="Write playbooks of your own.", no_args_is_help=True)


@app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="The playbook's name, e.g. cache_guard.")],
    directory: Annotated[
        Path, typer.Option("--dir", help="The folder to create the package in.")
    ] = Path("."),
) -> None:
    """Scaffold a package with a playbook, an actuator, a check, tests and entry points."""
    try:
        taken = set(playbooks())
    except PluginError as error:
        typer.echo(f"steward playbook new: {error}", err=True)
        raise typer.Exit(2) from None
    try:
        target = scaffold_package(name, directory, taken=taken)
    except (ScaffoldError, OSError) as error:
        typer.echo(f"steward playbook new: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"created {target}")
    typer.echo(f"next: cd {target} && pip install -e . && pytest")
