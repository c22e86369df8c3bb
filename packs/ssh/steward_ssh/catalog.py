"""The host catalog: which hosts the pack may reach, how, and which commands it may run.

The catalog is one TOML file named by the environment variable ``STEWARD_SSH_CATALOG`` on
the worker. Playbooks and incidents name a host and a command by their catalog names only, so
addresses, users, keys and the command lines themselves stay with the operator who deploys the
worker, never in an incident's parameters::

    [hosts.web1]
    address = "10.0.0.5"
    port = 22                                  # default 22
    user = "steward"
    key_path = "/etc/steward/ssh/id_ed25519"
    known_hosts = "/etc/steward/ssh/known_hosts"
    unit_manager = ["sudo", "systemctl"]       # default ["systemctl"]

    [commands.disk_usage]
    argv = ["df", "-h", "/"]

The file is read on every call, so an edited catalog takes effect without a restart.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from activities.actuators.registry import InvalidParametersError

CATALOG_ENV = "STEWARD_SSH_CATALOG"


class CatalogError(RuntimeError):
    """The catalog file is missing, unreadable or malformed."""


class Host(BaseModel):
    """One host: where it is, who Steward logs in as, and the keys that prove both sides."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    user: str = Field(min_length=1)
    key_path: Path
    # Required: the server's key is verified against this file, never accepted on first use.
    known_hosts: Path
    unit_manager: list[str] = Field(default_factory=lambda: ["systemctl"], min_length=1)


class Command(BaseModel):
    """One allow-listed command, as the argument vector it runs."""

    model_config = ConfigDict(extra="forbid")

    argv: list[str] = Field(min_length=1)


class Catalog(BaseModel):
    """Every host and allow-listed command the pack knows."""

    model_config = ConfigDict(extra="forbid")

    hosts: dict[str, Host] = Field(default_factory=dict)
    commands: dict[str, Command] = Field(default_factory=dict)

    def host(self, name: str) -> Host:
        """Return the host named ``name``.

        Raises:
            InvalidParametersError: No such host (a final failure, not retried).
        """
        if name not in self.hosts:
            known = ", ".join(sorted(self.hosts)) or "none"
            raise InvalidParametersError(f"unknown SSH host {name!r}; catalog hosts: {known}")
        return self.hosts[name]

    def command(self, name: str) -> Command:
        """Return the allow-listed command named ``name``.

        Raises:
            InvalidParametersError: The command is not allow-listed (a final failure).
        """
        if name not in self.commands:
            known = ", ".join(sorted(self.commands)) or "none"
            raise InvalidParametersError(
                f"command {name!r} is not allow-listed; catalog commands: {known}"
            )
        return self.commands[name]


def load_catalog(*, path: Path | None = None) -> Catalog:
    """Read the catalog from ``path``, or from the file named by ``STEWARD_SSH_CATALOG``.

    Raises:
        CatalogError: No catalog is configured, or the file cannot be read or parsed.
    """
    if path is None:
        configured = os.environ.get(CATALOG_ENV, "").strip()
        if not configured:
            raise CatalogError(f"{CATALOG_ENV} is not set: no SSH host catalog")
        path = Path(configured)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogError(f"cannot read the SSH catalog {path}: {exc}") from exc
    try:
        return Catalog.model_validate(raw)
    except ValidationError as exc:
        raise CatalogError(f"invalid SSH catalog {path}: {exc}") from exc
