"""``steward up`` with real processes: the runner, restarts, and a full start and stop."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx
import pytest

from api.core.settings import Settings
from bench.harness.servers import port_accepts_connections, serve_app
from tests.support.stack import PYTHON, stack_env, started_pids, still_running
from workers.demo_target.app import create_app as create_demo_app
from workers.stack.preflight import find_temporal_binary, port_is_free
from workers.stack.prometheus import plan_prometheus, prometheus_spec
from workers.stack.restarts import RestartPolicy
from workers.stack.runner import StopRequest, run_stack
from workers.stack.specs import ChildSpec, HttpOk, PortOpen, build_child_specs


def test_prometheus_runs_only_when_found_and_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No binary or someone else's URL: the stack runs without it and says why."""
    binary = tmp_path / "prometheus"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    local = Settings(prometheus_url="http://127.0.0.1:9999", prometheus_bin=binary)
    plan = plan_prometheus(local)
    assert (plan.binary, plan.port) == (binary, 9999)
    spec = prometheus_spec(local, plan, tmp_path / "home")
    assert "--web.listen-address=127.0.0.1:9999" in spec.argv
    config = (tmp_path / "home" / "prometheus" / "prometheus.yml").read_text()
    assert f'targets: ["127.0.0.1:{local.demo_port}"]' in config

    remote = plan_prometheus(Settings(prometheus_url="http://metrics.example:9090"))
    assert remote.binary is None and "yours" in remote.note

    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    missing = plan_prometheus(Settings(prometheus_url="http://localhost:9090"))
    assert missing.binary is None and missing.note.startswith("not started")


def sleeper(
    name: str, tmp_path: Path, record: Path, *, exit_after: float | None = None
) -> ChildSpec:
    """A child that appends its name to ``record`` on SIGTERM (ready once that is set up)."""
    marker = tmp_path / f"{name}.ready"
    code = (
        "import pathlib, signal, sys, time\n"
        "def stop(*_):\n"
        f"    open({str(record)!r}, 'a').write({name!r} + '\\n')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        f"pathlib.Path({str(marker)!r}).touch()\n"
        f"print({name!r}, 'is running', flush=True)\n"
        + (f"time.sleep({exit_after}); sys.exit(3)\n" if exit_after else "time.sleep(60)\n")
    )
    return ChildSpec(name=name, argv=(PYTHON, "-c", code), ready=marker.exists, ready_timeout=10)


def test_runner_stops_children_in_reverse_order(tmp_path: Path) -> None:
    record = tmp_path / "stopped.txt"
    stop, out, err = StopRequest(), io.StringIO(), io.StringIO()
    specs = [sleeper(name, tmp_path, record) for name in ("first", "second", "third")]
    code = run_stack(specs, tmp_path, os.environ, stop, on_ready=stop.request, out=out, err=err)
    assert code == 0
    assert record.read_text().split() == ["third", "second", "first"]
    assert out.getvalue().endswith("stopped\n")
    assert still_running(out.getvalue()) == []
    assert err.getvalue() == ""


FAST_RESTARTS = RestartPolicy(
    initial_backoff_seconds=0.1, max_backoff_seconds=0.4, crash_limit=3, window_seconds=30
)


def stop_when(stop: StopRequest, check: Callable[[], bool]) -> Callable[[], None]:
    """An ``on_ready`` hook that requests a stop (from a thread) once ``check`` passes."""

    def watch() -> None:
        wait_for(check, timeout=30)
        stop.request()

    return lambda: threading.Thread(target=watch, daemon=True).start()


def test_a_crashing_child_is_restarted_with_backoff_then_given_up_on(tmp_path: Path) -> None:
    """A non-essential crash loop: restarted, given up on with its log, the rest runs on."""
    record = tmp_path / "stopped.txt"
    stop, out, err = StopRequest(), io.StringIO(), io.StringIO()
    logs = tmp_path / "logs"
    specs = [
        sleeper("steady", tmp_path, record),
        sleeper("flaky", tmp_path, record, exit_after=0.3),
    ]
    gave_up = "gave up on flaky"
    code = run_stack(
        specs, logs, os.environ, stop, out=out, err=err, restart_policy=FAST_RESTARTS,
        on_ready=stop_when(stop, lambda: gave_up in err.getvalue()),
    )  # fmt: skip
    log = logs / "flaky.log"
    assert code == 0, "a non-essential child giving up does not fail the stack"
    messages = err.getvalue().splitlines()
    assert messages[:2] == [
        "steward up: flaky exited with code 3; restarting it in 0.1s "
        f"(crash 1 of 3 allowed within 30s); see {log}",
        "steward up: flaky exited with code 3; restarting it in 0.2s "
        f"(crash 2 of 3 allowed within 30s); see {log}",
    ]
    assert messages[2] == (
        "steward up: gave up on flaky: it crashed 3 times within 30s, the last time with exit "
        "code 3; the rest of the stack keeps running without it. "
        f"Last lines of {log}:"
    )
    assert messages[-1] == "    flaky is running"
    assert out.getvalue().count("started flaky") == 3
    assert log.read_text().count("flaky is running") == 3, "each run appends to its log"
    assert record.read_text().split() == ["steady"], "the survivor ran until the stop"
    assert still_running(out.getvalue()) == []


def test_an_essential_child_in_a_crash_loop_stops_the_stack(tmp_path: Path) -> None:
    record = tmp_path / "stopped.txt"
    out, err = io.StringIO(), io.StringIO()
    logs = tmp_path / "logs"
    flaky = dataclasses.replace(sleeper("flaky", tmp_path, record, exit_after=0.3), essential=True)
    specs = [sleeper("steady", tmp_path, record), flaky]
    code = run_stack(
        specs, logs, os.environ, StopRequest(), out=out, err=err, restart_policy=FAST_RESTARTS
    )
    assert code == 1
    assert (
        "steward up: gave up on flaky: it crashed 3 times within 30s, the last time with exit "
        "code 3; it is essential, so the stack stops." in err.getvalue()
    )
    assert err.getvalue().rstrip().endswith("flaky is running")
    assert record.read_text().split() == ["steady"], "the survivor got SIGTERM"
    assert still_running(out.getvalue()) == []


def test_runner_gives_up_on_a_child_that_never_gets_ready(tmp_path: Path) -> None:
    never = ChildSpec("never", (PYTHON, "-c", "import time; time.sleep(60)"), lambda: False, 0.5)
    err = io.StringIO()
    code = run_stack([never], tmp_path / "logs", os.environ, StopRequest(), err=err)
    assert code == 1
    assert err.getvalue().startswith("steward up: never was not ready after 0.5s; see ")


def test_runner_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    logs, marker = tmp_path / "logs", tmp_path / "stubborn.ready"
    ignore_sigterm = (
        "import pathlib, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"pathlib.Path({str(marker)!r}).touch(); time.sleep(60)"
    )
    stubborn = ChildSpec(
        "stubborn", (PYTHON, "-c", ignore_sigterm), ready=marker.exists, ready_timeout=10
    )
    stop, out, err = StopRequest(), io.StringIO(), io.StringIO()
    code = run_stack(
        [stubborn], logs, os.environ, stop,
        on_ready=stop.request, out=out, err=err, stop_grace_seconds=0.5,
    )  # fmt: skip
    assert code == 0
    assert "stubborn ignored SIGTERM for 0.5s" in err.getvalue()
    assert "stubborn" in started_pids(out.getvalue())
    assert still_running(out.getvalue()) == []


def test_readiness_checks_answer_for_real_servers() -> None:
    with serve_app(create_demo_app()) as url:
        port = int(url.rsplit(":", 1)[1])
        assert PortOpen("127.0.0.1", port)()
        assert HttpOk(f"{url}/healthz")()
        assert not HttpOk(f"{url}/no-such-page")()
    assert not PortOpen("127.0.0.1", port)()
    assert not HttpOk(f"{url}/healthz")()


def test_real_temporal_and_demo_start_and_stop_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = stack_env(home)
    settings = Settings(
        home=home,
        temporal_address=env["STEWARD_TEMPORAL_ADDRESS"],
        temporal_ui_port=int(env["STEWARD_TEMPORAL_UI_PORT"]),
        demo_port=int(env["STEWARD_DEMO_PORT"]),
    )
    grpc_port = int(settings.temporal_address.rsplit(":", 1)[1])
    specs = [
        spec
        for spec in build_child_specs(settings, find_temporal_binary(), home)
        if spec.name in {"temporal", "demo"}
    ]
    stop, out = StopRequest(), io.StringIO()
    answered: dict[str, bool] = {}

    def check_then_stop() -> None:
        answered["temporal"] = port_accepts_connections(grpc_port)
        answered["demo"] = HttpOk(f"http://127.0.0.1:{settings.demo_port}/healthz")()
        answered["ui"] = wait_for(HttpOk(f"http://127.0.0.1:{settings.temporal_ui_port}/"))
        stop.request()

    code = run_stack(specs, home / "logs", env, stop, on_ready=check_then_stop, out=out)
    assert code == 0
    assert answered == {"temporal": True, "demo": True, "ui": True}
    assert (home / "temporal.db").exists(), "state is kept for the next start"
    assert set(started_pids(out.getvalue())) == {"temporal", "demo"}
    assert still_running(out.getvalue()) == []
    assert all(port_is_free(port) for port in (grpc_port, settings.demo_port))


def test_stack_runs_the_configured_number_of_worker_processes(tmp_path: Path) -> None:
    binary = tmp_path / "temporal"
    one = [s.name for s in build_child_specs(Settings(worker_processes=1), binary, tmp_path)]
    three = [s.name for s in build_child_specs(Settings(worker_processes=3), binary, tmp_path)]
    assert one == ["temporal", "demo", "worker", "api"]
    assert three == ["temporal", "demo", "worker-1", "worker-2", "worker-3", "api"]


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def read_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def demo_is_scraped(prometheus: str) -> bool:
    """Whether Prometheus has scraped the demo target's p95 latency successfully."""
    try:
        answer = httpx.get(
            f"{prometheus}/api/v1/query", params={"query": 'demo_p95_latency_seconds{job="demo"}'}
        ).json()
    except httpx.HTTPError:
        return False
    return bool(answer["data"]["result"])


@pytest.mark.slow
def test_steward_up_starts_everything_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    """The whole stack as a user runs it: ``steward up``, then ``steward demo``, then Ctrl-C."""
    # Two workers on the task queue: the demo's approvals and rollbacks work across processes.
    env = {**stack_env(tmp_path / "home"), "STEWARD_WORKER_PROCESSES": "2"}
    steward = str(Path(PYTHON).parent / "steward")
    supervisor = subprocess.Popen(
        [steward, "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert supervisor.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=read_lines, args=(supervisor.stdout, lines), daemon=True).start()
    output = ""
    try:
        deadline = time.monotonic() + 45
        while "Ctrl-C stops everything" not in output:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"the supervisor exited early:\n{output}"
            output += line

        grpc_port = int(env["STEWARD_TEMPORAL_ADDRESS"].rsplit(":", 1)[1])
        assert port_accepts_connections(grpc_port)
        assert httpx.get(f"http://127.0.0.1:{env['STEWARD_DEMO_PORT']}/healthz").status_code == 200
        assert wait_for(HttpOk(f"http://127.0.0.1:{env['STEWARD_TEMPORAL_UI_PORT']}/"))
        assert httpx.get(f"http://127.0.0.1:{env['STEWARD_API_PORT']}/healthz").status_code == 200
        assert f"http://127.0.0.1:{env['STEWARD_API_PORT']}/docs" in output
        assert "workers      2 on task queue steward" in output
        assert (tmp_path / "home" / "admin.key").read_text().startswith("stw_")
        prometheus = env["STEWARD_PROMETHEUS_URL"]
        assert f"Prometheus   {prometheus} (scrapes the demo target every 1 s)" in output
        assert wait_for(lambda: demo_is_scraped(prometheus))

        demo = subprocess.run(
            [steward, "demo"],
            env={**env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=150,
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert demo.stdout.count("resolved") == 4 and demo.stdout.count("rolled_back") == 2

        supervisor.send_signal(signal.SIGINT)
        assert supervisor.wait(timeout=45) == 0
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
    while (line := lines.get(timeout=5)) is not None:
        output += line
    assert output.rstrip().endswith("stopped")
    expected = {"temporal", "demo", "prometheus", "worker-1", "worker-2", "api"}
    assert set(started_pids(output)) == expected
    assert still_running(output) == []
    ports = [grpc_port, *(int(env[name]) for name in ("STEWARD_API_PORT", "STEWARD_DEMO_PORT"))]
    ports.append(int(prometheus.rsplit(":", 1)[1]))
    assert all(port_is_free(port) for port in ports)


def test_runner_reports_a_command_that_cannot_start(tmp_path: Path) -> None:
    missing = ChildSpec("ghost", (str(tmp_path / "no-such-program"),))
    err = io.StringIO()
    code = run_stack([missing], tmp_path / "logs", os.environ, StopRequest(), err=err)
    assert code == 1
    assert err.getvalue().startswith("steward up: could not start ghost: ")


class Supervisor:
    """``steward up`` in the background, with its output collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(Path(PYTHON).parent / "steward"), "up"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output = ""
        threading.Thread(
            target=read_lines, args=(self.process.stdout, self.lines), daemon=True
        ).start()

    def wait_for_output(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"the supervisor exited early:\n{self.output}"
            self.output += line

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=45)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


@pytest.mark.slow
def test_a_killed_worker_restarts_while_the_api_keeps_serving(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        **stack_env(home),
        "STEWARD_WORKER_PROCESSES": "1",
        "STEWARD_PROMETHEUS_URL": "http://metrics.example:9090",  # not run: not this machine
    }
    api = f"http://127.0.0.1:{env['STEWARD_API_PORT']}"
    supervisor = Supervisor(env)
    try:
        supervisor.wait_for_output("Ctrl-C stops everything", 90)
        first = started_pids(supervisor.output)["worker"]
        assert wait_for(lambda: "1 polling" in httpx.get(f"{api}/healthz").text, 30)

        os.kill(first, signal.SIGKILL)
        answers = []
        deadline = time.monotonic() + 30
        while started_pids(supervisor.output)["worker"] == first:
            assert time.monotonic() < deadline, supervisor.output
            answers.append(httpx.get(f"{api}/healthz", timeout=5).status_code)
            with contextlib.suppress(queue.Empty):
                line = supervisor.lines.get(timeout=0.2)
                assert line is not None, supervisor.output
                supervisor.output += line
        assert answers and set(answers) == {200}, "the API answered while the worker was down"
        assert "worker exited with code -9; restarting it in 0.5s" in supervisor.output

        # The restarted worker does the work: an incident opened now runs to its end.
        key = (home / "admin.key").read_text().strip()
        opened = httpx.post(
            f"{api}/api/v1/incidents",
            json={"service": "demo", "signal": "latency", "severity": "high",
                  "playbook": "high_latency"},
            headers={"X-API-Key": key},
        )  # fmt: skip
        assert opened.status_code == 201, opened.text
        incident = f"{api}/api/v1/incidents/{opened.json()['id']}"
        assert wait_for(
            lambda: httpx.get(incident, headers={"X-API-Key": key}).json()["status"] == "resolved",
            60,
        )
        assert supervisor.stop() == 0
    finally:
        supervisor.stop()
    assert still_running(supervisor.output) == []
