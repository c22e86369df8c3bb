"""``steward up`` refuses to start, with one line, when its ports, binaries or settings are bad."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import run_supervisor, stack_env


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port some other program is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


@pytest.mark.parametrize(
    ("env_var", "label"),
    [
        ("STEWARD_TEMPORAL_ADDRESS", "Temporal gRPC"),
        ("STEWARD_TEMPORAL_UI_PORT", "Temporal UI"),
        ("STEWARD_API_PORT", "API"),
        ("STEWARD_DEMO_PORT", "demo target"),
        ("STEWARD_PROMETHEUS_URL", "Prometheus"),
    ],
)
def test_a_taken_port_fails_preflight_with_one_line(
    tmp_path: Path, listener: socket.socket, env_var: str, label: str
) -> None:
    taken = listener.getsockname()[1]
    env = stack_env(tmp_path)
    env[env_var] = {
        "STEWARD_TEMPORAL_ADDRESS": f"127.0.0.1:{taken}",
        "STEWARD_PROMETHEUS_URL": f"http://127.0.0.1:{taken}",
    }.get(env_var, str(taken))
    result = run_supervisor(env)
    assert result.returncode == 2
    assert result.stderr == (
        f"steward up: port {taken} ({label}) is already in use; "
        f"stop the other process or set {env_var}\n"
    )
    assert "started" not in result.stdout, "nothing starts when preflight fails"


def test_a_port_configured_twice_fails_preflight(tmp_path: Path) -> None:
    env = stack_env(tmp_path)
    env["STEWARD_DEMO_PORT"] = env["STEWARD_API_PORT"]
    result = run_supervisor(env)
    assert result.returncode == 2
    assert "configured for both API and demo target" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_temporal_binary_fails_preflight_with_one_line(tmp_path: Path) -> None:
    env = stack_env(tmp_path)
    env["PATH"] = str(tmp_path / "empty-bin")
    env["STEWARD_TEMPORAL_BIN"] = str(tmp_path / "no-such-temporal")
    result = run_supervisor(env)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("steward up: the 'temporal' binary was not found")
    assert "run 'make up'" in lines[0]


def test_a_missing_configured_prometheus_binary_fails_preflight(tmp_path: Path) -> None:
    env = stack_env(tmp_path)
    env["STEWARD_PROMETHEUS_BIN"] = str(tmp_path / "no-such-prometheus")
    result = run_supervisor(env)
    assert result.returncode == 2
    assert result.stderr == (
        f"steward up: the 'prometheus' binary was not found at {tmp_path / 'no-such-prometheus'}"
        " (STEWARD_PROMETHEUS_BIN); fix the path or unset it\n"
    )


def test_a_worker_count_below_one_is_a_preflight_error(tmp_path: Path) -> None:
    result = run_supervisor({**stack_env(tmp_path / "home"), "STEWARD_WORKER_PROCESSES": "0"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "steward up: invalid setting STEWARD_WORKER_PROCESSES: "
        "Input should be greater than or equal to 1"
    ]
