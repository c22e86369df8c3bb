"""Running the ``steward`` CLI in-process against a real API."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from api.cli.main import app


class Steward:
    """Runs ``steward`` in a thread, so the worker on the test's event loop keeps running."""

    def __init__(self, api_url: str, home: Path) -> None:
        self.env: dict[str, str | None] = {
            "STEWARD_API_URL": api_url,
            "STEWARD_CONFIG": None,
            "XDG_CONFIG_HOME": str(home),  # never the developer's own config file
            "COLUMNS": "250",
        }

    async def __call__(self, *args: str, key: str | None, **env: str | None) -> Result:
        """Run ``steward *args`` with ``key`` as its API key and ``env`` on top."""
        merged = {**self.env, "STEWARD_API_KEY": key, **env}
        return await asyncio.to_thread(
            CliRunner().invoke, app, list(args), env=merged, catch_exceptions=False
        )
