"""``steward up``: run Temporal, the demo target, the workers and the API as one local stack.

It also runs Prometheus, scraping the demo target, when a ``prometheus`` binary is found and
``STEWARD_PROMETHEUS_URL`` names this machine (see :mod:`workers.stack.prometheus`).

Usage: ``python -m workers.supervisor``. Everything comes from the settings (``STEWARD_*``):
ports, hosts and ``STEWARD_HOME`` (logs under ``<home>/logs``, Temporal state in
``<home>/temporal.db``, reused across restarts so in-flight workflows resume).

``STEWARD_TEMPORAL_BIN`` points at a specific ``temporal`` CLI; when unset the CLI is looked up
on ``PATH`` and then next to the running Python (where the ``temporal-bin`` package puts it).

A child that exits is restarted with backoff; one in a crash loop is given up on, with a message
naming it, its exit code and the end of its log (:mod:`workers.stack.restarts`). Temporal and
the API are essential; workers, the demo target and Prometheus are not (:class:`ChildSpec`).

Exit codes: 0 after Ctrl-C/SIGTERM (also when a non-essential child was given up on), 1 when a
child never becomes ready at start or an essential child crash-loops, 2 when a preflight check
fails (missing binary, port in use, invalid setting, a plugin that cannot be loaded).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from api.core.catalog import CatalogError
from api.core.settings import Settings, get_settings
from api.services.plugins import PluginError, load_plugins
from workers.stack.preflight import (
    PreflightError,
    check_ports_free,
    configured_temporal_bin,
    find_temporal_binary,
    stack_ports,
)
from workers.stack.prometheus import PrometheusPlan, plan_prometheus, prometheus_spec
from workers.stack.runner import StopRequest, run_stack
from workers.stack.specs import api_base_url, build_child_specs, demo_base_url, temporal_ui_url

PREFLIGHT_FAILED = 2


def child_environment(home: Path) -> dict[str, str]:
    """Return the children's environment: ours, with an absolute home and unbuffered output.

    The absolute ``STEWARD_HOME`` makes the worker and API share one state folder (and signing
    key) whatever their working directory.
    """
    return {**os.environ, "STEWARD_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def print_urls(settings: Settings, log_dir: Path, prometheus: PrometheusPlan) -> None:
    """Tell the user where everything is."""
    lines = [
        "",
        "Steward is up:",
        f"  API docs     {api_base_url(settings)}/docs",
        f"  Temporal UI  {temporal_ui_url(settings)}",
        f"  demo target  {demo_base_url(settings)}",
        f"  Prometheus   {prometheus.note}",
        f"  workers      {settings.worker_processes} on task queue {settings.task_queue}",
        f"  logs         {log_dir}",
        "Ctrl-C stops everything",
    ]
    print("\n".join(lines), flush=True)


def preflight(settings: Settings) -> tuple[Path, PrometheusPlan]:
    """Check the stack can start; return the ``temporal`` binary and the Prometheus plan.

    Raises:
        PreflightError: With one line saying what to do.
    """
    temporal_bin = find_temporal_binary(configured_temporal_bin(settings))
    try:
        # The workers would each stop on this at start: say it once, before anything runs.
        load_plugins(settings)
        # And on a service catalog that does not validate or names a missing kubeconfig.
        settings.catalog().check_reachable_config()
    except (PluginError, CatalogError) as error:
        raise PreflightError(str(error)) from error
    prometheus = plan_prometheus(settings)
    runs = prometheus.binary is not None
    check_ports_free(stack_ports(settings, prometheus.port if runs else None))
    return temporal_bin, prometheus


def main(argv: Sequence[str] | None = None) -> int:
    """Run the local stack until Ctrl-C or SIGTERM; return the process exit code."""
    parser = argparse.ArgumentParser(
        prog="steward up",
        description="Run Temporal, the demo target, the workers and the API locally.",
    )
    parser.parse_args(argv)
    try:
        settings = get_settings()
        temporal_bin, prometheus = preflight(settings)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        message = f"invalid setting STEWARD_{field.upper()}: {first['msg']}"
        print(f"steward up: {message}", file=sys.stderr)
        return PREFLIGHT_FAILED
    except PreflightError as error:
        print(f"steward up: {error}", file=sys.stderr)
        return PREFLIGHT_FAILED

    home = settings.home.resolve()
    log_dir = home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    stop = StopRequest()
    stop.install()
    extra = [prometheus_spec(settings, prometheus, home)] if prometheus.binary else []
    return run_stack(
        build_child_specs(settings, temporal_bin, home, extra),
        log_dir,
        child_environment(home),
        stop,
        on_ready=lambda: print_urls(settings, log_dir, prometheus),
    )


if __name__ == "__main__":
    raise SystemExit(main())
