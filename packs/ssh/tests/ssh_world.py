"""A real OpenSSH server on a loopback port for the pack's tests, and a fake unit manager.

The server is Debian's ``/usr/sbin/sshd``, started as the current user with a host key,
client key and ``known_hosts`` generated for the test. There is no systemd here, so the host
catalog points the unit manager at :data:`FAKE_SYSTEMCTL`, a small shell script that keeps each
unit's state in a file: it stands in for the remote host's service manager, and is driven over
real SSH by the pack's real client.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

SSHD = Path("/usr/sbin/sshd")

FAKE_SYSTEMCTL = """#!/bin/sh
# Stand-in for systemctl: unit state lives in files beside this script.
# is-active prints the state (exit 0 only when active); start/stop/restart change it and
# append the verb to <unit>.log; a unit with a <unit>.broken file refuses to start.
units="$(dirname "$0")/units"
mkdir -p "$units"
verb="$1"; unit="$2"
case "$verb" in
  is-active)
    state="$(cat "$units/$unit" 2>/dev/null || echo inactive)"
    echo "$state"
    [ "$state" = active ] ;;
  start|restart)
    if [ -e "$units/$unit.broken" ]; then
      echo "Job for $unit failed." >&2; exit 1
    fi
    state=active
    # A unit with a <unit>.dies file crashes right after a restart.
    if [ "$verb" = restart ] && [ -e "$units/$unit.dies" ]; then state=failed; fi
    echo "$state" > "$units/$unit"; echo "$verb" >> "$units/$unit.log" ;;
  stop)
    echo inactive > "$units/$unit"; echo "$verb" >> "$units/$unit.log" ;;
  *)
    echo "unknown verb $verb" >&2; exit 1 ;;
esac
"""


@dataclass(frozen=True)
class SshWorld:
    """One running sshd and everything a catalog needs to reach it.

    Attributes:
        port: The loopback port sshd listens on.
        user: The login user (the current user).
        key_path: The client's private key (its public half is authorized).
        known_hosts: A known_hosts file that lists the server's real host key.
        systemctl: The fake unit manager script.
        units: The folder where the fake unit manager keeps unit states.
        root: The test's folder.
    """

    port: int
    user: str
    key_path: Path
    known_hosts: Path
    systemctl: Path
    units: Path
    root: Path

    def set_unit(self, unit: str, state: str) -> None:
        """Set a unit's state directly on the "remote" side."""
        self.units.mkdir(exist_ok=True)
        (self.units / unit).write_text(state + "\n")

    def unit_state(self, unit: str) -> str:
        """Read a unit's state directly on the "remote" side."""
        path = self.units / unit
        return path.read_text().strip() if path.exists() else "inactive"

    def unit_log(self, unit: str) -> list[str]:
        """The verbs that changed the unit, oldest first."""
        path = self.units / f"{unit}.log"
        return path.read_text().split() if path.exists() else []

    def catalog(self, *, known_hosts: Path | None = None, commands: str = "") -> Path:
        """Write a catalog with the host ``box`` (and ``commands``, TOML) and return its path."""
        path = self.root / "catalog.toml"
        path.write_text(
            f"""
[hosts.box]
address = "127.0.0.1"
port = {self.port}
user = "{self.user}"
key_path = "{self.key_path}"
known_hosts = "{known_hosts or self.known_hosts}"
unit_manager = ["{self.systemctl}"]
{commands}
"""
        )
        return path


def require_sshd() -> None:
    """Fail under ``CI=true`` when sshd is missing, skip elsewhere (as ``tests.support.db``)."""
    if SSHD.exists():
        return
    reason = f"{SSHD} is not installed (Debian's openssh-server; make unit installs it)"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason} (CI=true: missing components fail instead of skipping)")
    pytest.skip(reason)


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_key(path: Path) -> asyncssh.SSHKey:
    """Generate an Ed25519 key, write its private half to ``path`` (mode 0600), return it."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(path))
    path.chmod(0o600)
    return key


def known_hosts_line(port: int, key: asyncssh.SSHKey) -> str:
    """A known_hosts line for ``[127.0.0.1]:port`` and the public half of ``key``."""
    public = key.export_public_key("openssh").decode().strip()
    return f"[127.0.0.1]:{port} {public}\n"


def _wait_listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"sshd exited {process.returncode}: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"sshd did not listen on port {port} within 15 s")


@contextmanager
def running_sshd(root: Path) -> Iterator[SshWorld]:
    """Start sshd on a free loopback port under ``root``; stop it on exit."""
    root.mkdir(parents=True, exist_ok=True)
    host_key = write_key(root / "host_key")
    client_key = write_key(root / "client_key")
    (root / "authorized_keys").write_bytes(client_key.export_public_key("openssh"))
    port = free_port()
    (root / "known_hosts").write_text(known_hosts_line(port, host_key))
    systemctl = root / "systemctl"
    systemctl.write_text(FAKE_SYSTEMCTL)
    systemctl.chmod(0o755)
    config = root / "sshd_config"
    config.write_text(
        f"""ListenAddress 127.0.0.1
HostKey {root / "host_key"}
AuthorizedKeysFile {root / "authorized_keys"}
PidFile {root / "sshd.pid"}
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
LogLevel ERROR
"""
    )
    if os.geteuid() == 0:
        # sshd run as root wants its privilege-separation folder (systemd makes it normally).
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    process = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(config), "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_listening(process, port)
        yield SshWorld(
            port=port,
            user=getpass.getuser(),
            key_path=root / "client_key",
            known_hosts=root / "known_hosts",
            systemctl=systemctl,
            units=root / "units",
            root=root,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
