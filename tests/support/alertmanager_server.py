"""The real Alertmanager (Debian package ``prometheus-alertmanager``) in a temporary folder.

``run_alertmanager(folder, webhook_url, key)`` writes a config whose only receiver is a webhook
to ``webhook_url`` authenticated with ``Authorization: Bearer <key>`` (the key in a
``credentials_file``, as the README advises), starts Alertmanager on a free port without
clustering, and yields its base URL once it is ready. A missing binary skips the test, or
fails it under ``CI=true`` (see ``tests.support.db.missing_component``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.harness.servers import free_port
from tests.support.db import missing_component
from tests.support.processes import serve_binary

BINARY_NAMES = ("prometheus-alertmanager", "alertmanager")


def alertmanager_binary() -> str:
    """Return the path of Alertmanager; skip (fail under CI) when it is not installed."""
    for name in BINARY_NAMES:
        found = shutil.which(name) or (
            f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
        )
        if found:
            return found
    missing_component(
        "the prometheus-alertmanager binary is missing: install the Debian package "
        "'prometheus-alertmanager' ('make test' does)"
    )
    raise AssertionError("unreachable")  # missing_component skips or fails


def webhook_config(webhook_url: str, credentials_file: Path) -> str:
    """Route every alert at once (1 s group wait and interval) to Steward's receiver."""
    return f"""\
route:
  receiver: steward
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: steward
    webhook_configs:
      - url: "{webhook_url}"
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: "{credentials_file}"
"""


@contextmanager
def run_alertmanager(
    folder: Path, webhook_url: str, api_key: str, *, startup_timeout: float = 30.0
) -> Iterator[str]:
    """Run Alertmanager notifying ``webhook_url``; yield its base URL.

    Raises:
        RuntimeError: When it exits or is not ready within ``startup_timeout``.
    """
    binary = alertmanager_binary()
    folder.mkdir(parents=True, exist_ok=True)
    credentials = folder / "steward.key"
    credentials.write_text(api_key)
    credentials.chmod(0o600)
    config = folder / "alertmanager.yml"
    config.write_text(webhook_config(webhook_url, credentials))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serve_binary(
        "alertmanager",
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # one instance: no gossip port
            "--log.level=debug",
        ],
        folder / "alertmanager.log",
        url,
        startup_timeout,
    ) as ready:
        yield ready
