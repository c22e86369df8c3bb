"""What the local stack runs: one :class:`ChildSpec` per process, in start order."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from api.core.settings import Settings

# A readiness check answers "is it serving yet?" quickly and never raises.
ReadinessCheck = Callable[[], bool]

TEMPORAL_READY_TIMEOUT_SECONDS = 60.0
SERVICE_READY_TIMEOUT_SECONDS = 30.0
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}


@dataclass(frozen=True)
class PortOpen:
    """Ready once ``host:port`` accepts TCP connections."""

    host: str
    port: int

    def __call__(self) -> bool:
        """Return whether a connection succeeds right now."""
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0):
                return True
        except OSError:
            return False


@dataclass(frozen=True)
class HttpOk:
    """Ready once ``GET url`` answers 200."""

    url: str

    def __call__(self) -> bool:
        """Return whether the URL answers 200 right now."""
        try:
            return httpx.get(self.url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False


@dataclass(frozen=True)
class ChildSpec:
    """One process of the stack.

    Attributes:
        name: Short name, used for messages and the log file ``<logs>/<name>.log``.
        argv: Command line.
        ready: Check polled after start until it passes; ``None`` means ready once spawned.
        ready_timeout: Seconds to wait for ``ready`` before giving up on the whole stack.
        essential: Whether the stack stops when this child crash-loops and is given up on.
            Temporal and the API are essential: without them nothing can be done or seen.
            Workers, the demo target and Prometheus are not: the API keeps serving (its
            ``/healthz`` says what is missing) and in-flight incidents wait in Temporal.
    """

    name: str
    argv: tuple[str, ...]
    ready: ReadinessCheck | None = None
    ready_timeout: float = SERVICE_READY_TIMEOUT_SECONDS
    essential: bool = False


def temporal_grpc_port(settings: Settings) -> int:
    """Return the port of ``settings.temporal_address`` (``host:port``).

    Raises:
        ValueError: The address has no numeric port.
    """
    _, separator, port = settings.temporal_address.rpartition(":")
    if not separator or not port.isdigit():
        raise ValueError(
            f"STEWARD_TEMPORAL_ADDRESS={settings.temporal_address!r} must look like host:port"
        )
    return int(port)


def local_host(host: str) -> str:
    """Return an address to reach a server bound to ``host`` from this machine."""
    return "127.0.0.1" if host in WILDCARD_HOSTS else host


def api_base_url(settings: Settings) -> str:
    """Return the URL the API answers on."""
    return f"http://{local_host(settings.api_host)}:{settings.api_port}"


def demo_base_url(settings: Settings) -> str:
    """Return the URL the demo target answers on."""
    return f"http://127.0.0.1:{settings.demo_port}"


def temporal_ui_url(settings: Settings) -> str:
    """Return the URL of the Temporal web UI."""
    return f"http://127.0.0.1:{settings.temporal_ui_port}"


def temporal_server_argv(
    binary: Path | str, db_file: Path, port: int, *, ui_port: int | None = None
) -> tuple[str, ...]:
    """Return the command line of a file-backed ``temporal server start-dev``.

    Args:
        binary: The ``temporal`` CLI.
        db_file: SQLite file that keeps the server's state across restarts.
        port: Frontend gRPC port on 127.0.0.1.
        ui_port: Web UI port; ``None`` runs headless.
    """
    ui = ("--ui-port", str(ui_port)) if ui_port is not None else ("--headless",)
    return (
        str(binary),
        "server",
        "start-dev",
        "--db-filename",
        str(db_file),
        # WAL with normal sync roughly triples workflow throughput on a SQLite file.
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        # Eager activities: the first activity task rides back on the workflow task's
        # completion instead of a separate poll round trip.
        "--dynamic-config-value",
        "system.enableActivityEagerExecution=true",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        *ui,
        "--log-level",
        "warn",
    )


def build_child_specs(
    settings: Settings,
    temporal_bin: Path,
    home: Path,
    extra: Sequence[ChildSpec] = (),
) -> list[ChildSpec]:
    """Return the stack's processes in start order: Temporal, demo target, extras, workers, API.

    Args:
        settings: Ports and hosts to use.
        temporal_bin: The ``temporal`` CLI that runs the dev server.
        home: Absolute state folder; the Temporal database lives at ``home/temporal.db`` so a
            restarted stack resumes in-flight workflows.
        extra: Optional services started after the demo target (Prometheus scrapes it).
    """
    grpc_port = temporal_grpc_port(settings)
    python = sys.executable
    temporal = ChildSpec(
        name="temporal",
        argv=temporal_server_argv(
            temporal_bin, home / "temporal.db", grpc_port, ui_port=settings.temporal_ui_port
        ),
        ready=PortOpen("127.0.0.1", grpc_port),
        ready_timeout=TEMPORAL_READY_TIMEOUT_SECONDS,
        essential=True,
    )
    demo = ChildSpec(
        name="demo",
        argv=(python, "-m", "workers.demo_target", "--port", str(settings.demo_port)),
        ready=HttpOk(f"{demo_base_url(settings)}/healthz"),
    )
    count = settings.worker_processes
    # Several processes on one task queue: each one's GIL bounds it to a core.
    workers = [
        ChildSpec(
            name="worker" if count == 1 else f"worker-{n}", argv=(python, "-m", "workers.worker")
        )
        for n in range(1, count + 1)
    ]
    api = ChildSpec(
        name="api",
        argv=(
            python,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            settings.api_host,
            "--port",
            str(settings.api_port),
        ),
        ready=HttpOk(f"{api_base_url(settings)}/healthz"),
        essential=True,
    )
    return [temporal, demo, *extra, *workers, api]
