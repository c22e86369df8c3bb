"""Run one command on a catalog host over SSH (asyncssh), the server's key verified."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import asyncssh

from activities.actuators.registry import ActionRefusedError
from steward_ssh.catalog import Host

CONNECT_TIMEOUT_SECONDS = 15
# Outputs are kept in activity results and the ledger: bounded.
OUTPUT_LIMIT = 2000


class RemoteCommandError(ActionRefusedError):
    """A remote command exited with a status other than the one expected.

    Final: the command ran, and running it again would repeat whatever it did.
    """


class HostKeyRefusedError(ActionRefusedError):
    """The host's key is not in its ``known_hosts``: nothing ran, and a retry would not help."""


@dataclass(frozen=True)
class RemoteResult:
    """What one remote command did.

    Attributes:
        exit_status: The command's exit status (-1 when it died of a signal).
        stdout: Its standard output, stripped and cut to :data:`OUTPUT_LIMIT` characters.
        stderr: Its standard error, likewise.
    """

    exit_status: int
    stdout: str
    stderr: str


async def run_remote(*, host: Host, argv: list[str]) -> RemoteResult:
    """Connect to ``host``, run ``argv`` (each word quoted for the remote shell), disconnect.

    The server's host key must be listed in ``host.known_hosts``; an unknown or changed key
    refuses the connection before anything runs.

    Raises:
        HostKeyRefusedError: The server's key is not trusted (final, not retried).
        asyncssh.Error: The connection or authentication failed.
        OSError: The host cannot be reached, or a key file cannot be read.
    """
    try:
        async with asyncssh.connect(
            host.address,
            port=host.port,
            username=host.user,
            client_keys=[str(host.key_path)],
            known_hosts=str(host.known_hosts),
            # Only the catalog's key: no agent, no ~/.ssh of whoever runs the worker.
            agent_path=None,
            config=[],
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        ) as connection:
            completed = await connection.run(shlex.join(argv), check=False)
    except asyncssh.HostKeyNotVerifiable as exc:
        raise HostKeyRefusedError(
            f"{host.address}:{host.port}: {exc} (not in {host.known_hosts})"
        ) from exc
    status = completed.exit_status if completed.exit_status is not None else -1
    return RemoteResult(
        exit_status=status,
        stdout=_text(completed.stdout),
        stderr=_text(completed.stderr),
    )


def _text(output: object) -> str:
    if isinstance(output, bytes):
        output = output.decode("utf-8", errors="replace")
    return str(output or "").strip()[:OUTPUT_LIMIT]
