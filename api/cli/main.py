"""The ``steward`` command line.

Exit codes: 0 success; 1 the operation was refused or failed (401, 403, 409, 429, a server
error, the demo's expectations not met); 2 bad input, usage or a missing precondition (an
unknown id, an invalid value, a taken port, no API key configured); 3 the API cannot be reached.

Commands that talk to a running API read its URL and key from ``~/.config/steward/config.toml``
(or ``$STEWARD_CONFIG``) and ``STEWARD_API_URL`` / ``STEWARD_API_KEY``; see ``api.cli.config``.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from api.cli import (
    audit,
    detect,
    keys,
    monitor,
    opening,  # noqa: F401  (adds 'incidents open' to the incidents group)
    operator,
    playbook,
    plugins,
    policy,
    retention,
    services,
    slack,
    targets,
)
from api.cli import demo as demo_module
from api.cli.bootstrap import ensure_admin_key

app = typer.Typer(
    help="Steward: durable, policy-gated remediation on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(keys.app, name="keys")
app.add_typer(slack.app, name="slack")
app.add_typer(policy.app, name="policy")
app.add_typer(detect.app, name="detect")
app.add_typer(monitor.app, name="monitor")
app.add_typer(retention.app, name="retention")
app.add_typer(playbook.app, name="playbook")
app.add_typer(targets.app, name="targets")
operator.register(app)
plugins.register(app)
services.register(app)
audit.register(app, keys.app)


def _exec_module(module: str, args: list[str]) -> None:
    # exec, not a child: Ctrl-C and SIGTERM reach the supervisor directly.
    os.execv(sys.executable, [sys.executable, "-m", module, *args])


@app.command()
def up() -> None:
    """Run the local stack: Temporal dev server, workers, API and demo target (Ctrl-C stops)."""
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
