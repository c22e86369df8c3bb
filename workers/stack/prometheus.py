"""The optional Prometheus of the local stack: it scrapes the demo target for monitors.

``steward up`` runs it when a ``prometheus`` binary is found (``STEWARD_PROMETHEUS_BIN``, else
``PATH``) and ``STEWARD_PROMETHEUS_URL`` names this machine, so the monitors' ``prometheus``
sources work out of the box. A URL naming another host means the user runs their own; no binary
means monitors need that URL or pushed events, and ``steward up`` says so instead of failing.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from api.core.settings import Settings
from workers.stack.preflight import PreflightError, is_executable
from workers.stack.specs import ChildSpec, HttpOk, demo_base_url

PROMETHEUS_BIN_ENV = "STEWARD_PROMETHEUS_BIN"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
DEFAULT_PORT = 9090


@dataclass(frozen=True)
class PrometheusPlan:
    """What ``steward up`` does about Prometheus.

    Attributes:
        binary: The binary to run, or ``None`` when the stack does not run one.
        port: Port it listens on (127.0.0.1), from ``STEWARD_PROMETHEUS_URL``.
        note: One line for the user: where it is, or why it is not running.
    """

    binary: Path | None
    port: int
    note: str


def scrape_config(targets: Sequence[str], interval: int) -> str:
    """Return a Prometheus config scraping ``targets`` (``host:port``) every ``interval`` s."""
    listed = ", ".join(f'"{target}"' for target in targets)
    return (
        "global:\n"
        f"  scrape_interval: {interval}s\n"
        f"  scrape_timeout: {interval}s\n"
        f"  evaluation_interval: {interval}s\n"
        "scrape_configs:\n"
        "  - job_name: demo\n"
        "    static_configs:\n"
        f"      - targets: [{listed}]\n"
    )


def plan_prometheus(settings: Settings) -> PrometheusPlan:
    """Decide whether the stack runs Prometheus, and on which port.

    Raises:
        PreflightError: ``STEWARD_PROMETHEUS_BIN`` is set but not an executable.
    """
    url = urlsplit(settings.prometheus_url)
    port = url.port or DEFAULT_PORT
    if url.hostname not in LOCAL_HOSTS:
        return PrometheusPlan(None, port, f"{settings.prometheus_url} (yours, not started here)")
    binary = _find_binary(settings.prometheus_bin)
    if binary is None:
        return PrometheusPlan(
            None,
            port,
            "not started: no 'prometheus' binary on PATH (install it, e.g. Debian's "
            "'prometheus' package, or set STEWARD_PROMETHEUS_URL to yours)",
        )
    every = settings.prometheus_scrape_seconds
    return PrometheusPlan(
        binary, port, f"http://127.0.0.1:{port} (scrapes the demo target every {every} s)"
    )


def _find_binary(configured: Path | None) -> Path | None:
    if configured is not None:
        if is_executable(configured):
            return configured
        raise PreflightError(
            f"the 'prometheus' binary was not found at {configured} ({PROMETHEUS_BIN_ENV}); "
            "fix the path or unset it"
        )
    found = shutil.which("prometheus")
    return Path(found) if found else None


def prometheus_command(
    binary: Path | str, folder: Path, targets: Sequence[str], interval: int, port: int
) -> tuple[str, ...]:
    """Write a config scraping ``targets`` into ``folder``; return the command that runs it.

    Prometheus listens on ``127.0.0.1:port`` and keeps its data in ``folder/data``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prometheus.yml"
    config.write_text(scrape_config(targets, interval))
    return (
        str(binary),
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    )


def prometheus_spec(settings: Settings, plan: PrometheusPlan, home: Path) -> ChildSpec:
    """Write the scrape config under ``home/prometheus`` and return the child to run.

    Its data stays in ``home/prometheus/data``, so history survives a restart of the stack.
    """
    assert plan.binary is not None, "only a plan with a binary runs Prometheus"
    demo = urlsplit(demo_base_url(settings)).netloc
    argv = prometheus_command(
        plan.binary, home / "prometheus", [demo], settings.prometheus_scrape_seconds, plan.port
    )
    return ChildSpec(
        name="prometheus", argv=argv, ready=HttpOk(f"http://127.0.0.1:{plan.port}/-/ready")
    )
