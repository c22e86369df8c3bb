"""The ``steward`` command line.

Exit codes: 0 success, 1 the operation failed (e.g. the demo's expectations were not met),
2 bad input or a precondition is missing (a taken port, an unknown id).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from api.cli import demo as demo_module
from api.cli import keys
from api.cli.bootstrap import ensure_admin_key

app = typer.Typer(
    help="Steward: durable, policy-gated remediation on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(keys.app, name="keys")


def _exec_module(module: str, args: list[str]) -> None:
    # exec, not a child: Ctrl-C and SIGTERM reach the supervisor directly.
    os.execv(sys.executable, [sys.executable, "-m", module, *args])


@app.command()
def up() -> None:
    """Run the local stack: Temporal dev server, worker, API and demo target (Ctrl-C stops)."""
    ensure_admin_key()
    _exec_module("workers.supervisor", [])


@app.command()
def worker() -> None:
    """Run a worker only (for a stack whose Temporal and API run elsewhere)."""
    _exec_module("workers.worker", [])


@app.command()
def demo(
    api_url: Annotated[
        str | None, typer.Option(help="API base URL (default: from settings).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each incident.")] = 90.0,
) -> None:
    """Run the scripted demo against a running stack (start it with 'make up')."""
    raise typer.Exit(demo_module.run(api_url, timeout))


def main() -> None:
    """Console-script entry point."""
    app()
