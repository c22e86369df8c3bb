"""Where the CLI finds the Steward API and its key: a TOML file and the environment.

The file is ``$STEWARD_CONFIG`` or ``~/.config/steward/config.toml`` (``$XDG_CONFIG_HOME``
is honoured)::

    api_url = "http://127.0.0.1:8000"
    api_key = "stw_..."

``STEWARD_API_URL`` and ``STEWARD_API_KEY`` override the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_API_URL = "http://127.0.0.1:8000"


class ConfigError(ValueError):
    """The configuration file cannot be read, or something required is missing."""


@dataclass(frozen=True)
class CliConfig:
    """The server the CLI talks to and the key it presents.

    Attributes:
        api_url: Base URL of the Steward API.
        api_key: The caller's API key, when configured.
        source: Where the settings came from, for error messages.
    """

    api_url: str
    api_key: str | None
    source: str


def config_path(env: Mapping[str, str]) -> Path:
    """Return the configuration file's path for ``env``."""
    if env.get("STEWARD_CONFIG"):
        return Path(env["STEWARD_CONFIG"]).expanduser()
    base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "steward" / "config.toml"


def load_config(env: Mapping[str, str] | None = None) -> CliConfig:
    """Read the file (when present), then let the environment override it.

    Raises:
        ConfigError: A named file is missing, or a file is not valid TOML or has bad values.
    """
    env = os.environ if env is None else env
    path = config_path(env)
    values: dict[str, object] = {}
    if path.is_file():
        try:
            values = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
    elif env.get("STEWARD_CONFIG"):
        raise ConfigError(f"STEWARD_CONFIG names {path}, which does not exist")
    for name in ("api_url", "api_key"):
        if name in values and not isinstance(values[name], str):
            raise ConfigError(f"{path}: {name} must be a string")
    api_url = env.get("STEWARD_API_URL") or str(values.get("api_url") or DEFAULT_API_URL)
    api_key = env.get("STEWARD_API_KEY") or values.get("api_key")
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError(f"the API URL must start with http:// or https://, not {api_url!r}")
    return CliConfig(api_url.rstrip("/"), str(api_key) if api_key else None, str(path))
