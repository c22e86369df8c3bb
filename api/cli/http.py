"""The CLI's HTTP client for the Steward API, and its exit codes.

Exit codes: 0 success; 1 the server refused or failed (401, 403, 409, 429, 5xx); 2 bad input
or usage (unknown id, invalid value, missing configuration); 3 the server cannot be reached.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import httpx
import typer

from api.cli.config import CliConfig, ConfigError, load_config

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
# Statuses that mean the request itself was wrong (bad id, bad value), not that it was refused.
_USAGE_STATUSES = {400, 404, 405, 413, 422}

P = ParamSpec("P")
R = TypeVar("R")


class CliError(Exception):
    """A failure to report in one line, with the exit code that classifies it."""

    def __init__(self, exit_code: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return response.text.strip().splitlines()[0] if response.text.strip() else ""
    if isinstance(detail, list):  # FastAPI's validation errors: where, and what is wrong
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', [])[1:]) or 'request'}: {item.get('msg')}"
            for item in detail
            if isinstance(item, dict)
        )
    return str(detail)


class ApiClient:
    """Calls the API with the configured key; every failure becomes a ``CliError``."""

    def __init__(self, config: CliConfig, timeout: float = 30.0) -> None:
        """Create a client for ``config``."""
        if not config.api_key:
            raise CliError(
                EXIT_USAGE,
                f"no API key configured: set STEWARD_API_KEY or api_key in {config.source}",
            )
        self.config = config
        self._http = httpx.Client(
            base_url=config.api_url, timeout=timeout, headers={"X-API-Key": config.api_key}
        )

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return the decoded JSON body (None for an empty one).

        Raises:
            CliError: Unreachable server (3), a refusal or server failure (1), bad input (2).
        """
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise CliError(
                EXIT_UNREACHABLE, f"cannot reach the Steward API at {self.config.api_url}: {exc}"
            ) from exc
        if response.is_success:
            return response.json() if response.content else None
        code = EXIT_USAGE if response.status_code in _USAGE_STATUSES else EXIT_REFUSED
        raise CliError(code, f"{response.status_code}: {_detail(response)}")


def api_command(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command body, turning ``CliError`` and ``ConfigError`` into one line and an exit."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CliError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except ConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from None

    return wrapper


def connect() -> ApiClient:
    """Return a client for the configured server (see ``api.cli.config``)."""
    return ApiClient(load_config())
