"""docs/tutorial-playbook.md, run as written: the page cannot rot.

Every ``sh`` block marked ``<!-- tutorial-test: run -->`` runs in order, in bash with
``set -euo pipefail``. The blocks before the stack run in one shell and the blocks after it in
another, both starting in the stand-in for the Steward checkout. The block marked
``<!-- tutorial-test: stack -->`` (``make up``) runs what ``make up`` runs (``steward up``) in
the background, and the test waits until the stack is healthy. The page's unmarked block
(activating the checkout's virtual environment) is what this test's environment provides.

The environment is a fresh virtual environment that sees this checkout's installed packages
(through a ``.pth`` file), so that the tutorial's ``pip install -e .`` goes into it and
never into the project's own ``.venv``. ``steward`` and ``pytest`` in it are the project's,
run by its interpreter. The stack runs on free ports, set through Steward's settings, which
the CLI reads from the environment as the page's commands expect.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

from bench.harness.servers import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "tutorial-playbook.md"
BLOCK = re.compile(r"<!-- tutorial-test: (run|stack) -->\n```sh\n(.*?)```", re.DOTALL)


def tutorial_blocks() -> list[tuple[str, str]]:
    """The page's marked blocks, in order: (``run`` or ``stack``, the commands)."""
    return [(match[1], match[2]) for match in BLOCK.finditer(PAGE.read_text())]


def make_environment(root: Path) -> Path:
    """A virtual environment under ``root`` that sees this checkout's packages; its bin."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    project_site = sysconfig.get_paths()["purelib"]
    # addsitedir, not a plain path line: it also runs the editable installs' own .pth hooks.
    (site / "steward_checkout.pth").write_text(f"import site; site.addsitedir({project_site!r})\n")
    bin_dir = venv / "bin"
    shims = {
        "steward": "from api.cli.main import main\nsys.exit(main())",
        "pytest": "import pytest\nsys.exit(pytest.main())",
    }
    for name, body in shims.items():
        shim = bin_dir / name
        shim.write_text(f"#!{bin_dir / 'python'}\nimport sys\n{body}\n")
        shim.chmod(0o755)
    return bin_dir


def run_script(commands: str, *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run ``commands`` in bash, failing the test with the whole output when they fail."""
    done = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{commands}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"the tutorial's commands failed:\n{commands}\n---\n{output}"
    return output


def wait_healthy(
    api_url: str, stack: subprocess.Popen[bytes], log: Path, timeout: float = 180
) -> None:
    """Wait until the API says Temporal answers and a worker polls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert stack.poll() is None, f"steward up exited:\n{log.read_text()}"
        try:
            health = httpx.get(f"{api_url}/healthz", timeout=3).json()
            if health.get("temporal") == "ok" and health.get("workers", "").endswith("polling"):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"the stack did not become healthy:\n{log.read_text()}")


def stop_stack(stack: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as the tutorial's reader would; SIGKILL if that is not enough within a minute."""
    if stack.poll() is not None:
        return
    os.killpg(stack.pid, signal.SIGINT)
    try:
        stack.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(stack.pid, signal.SIGKILL)
        stack.wait()


def test_the_playbook_tutorial_runs_as_written(tmp_path: Path) -> None:
    blocks = tutorial_blocks()
    kinds = [kind for kind, _ in blocks]
    assert kinds.count("stack") == 1 and len(blocks) >= 6, kinds
    split = kinds.index("stack")
    assert blocks[split][1].strip() == "make up"
    before = "\n".join(commands for _, commands in blocks[:split])
    after = "\n".join(commands for _, commands in blocks[split + 1 :])

    checkout = tmp_path / "steward"
    checkout.mkdir()
    bin_dir = make_environment(tmp_path)
    api_port, demo_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("STEWARD_")}
    env |= {
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "VIRTUAL_ENV": str(bin_dir.parent),
        "STEWARD_API_PORT": str(api_port),
        "STEWARD_API_URL": f"http://127.0.0.1:{api_port}",
        "STEWARD_DEMO_PORT": str(demo_port),
        "STEWARD_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "STEWARD_TEMPORAL_UI_PORT": str(free_port()),
        "STEWARD_WORKER_PROCESSES": "1",
        # Not this machine, so steward up runs no Prometheus of its own on the fixed port.
        "STEWARD_PROMETHEUS_URL": "http://metrics.example:9090",
    }
    env.pop("PYTHONPATH", None)

    written = run_script(before, cwd=checkout, env=env, timeout=900)
    assert "cache_guard" in written  # steward plugins lists the new playbook
    package = tmp_path / "cache-guard"
    assert (package / "tests" / "histories" / "cache_guard_resolved.json").is_file()

    log_path = tmp_path / "stack.log"
    with log_path.open("w") as log:
        stack = subprocess.Popen(
            [str(bin_dir / "steward"), "up"],
            cwd=checkout,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(f"http://127.0.0.1:{api_port}", stack, log_path)
        output = run_script(after, cwd=checkout, env=env, timeout=600)
        state = httpx.get(f"http://127.0.0.1:{demo_port}/admin/state", timeout=10).json()
    finally:
        stop_stack(stack)
    assert state["flags"].get("safe_mode") is True
    assert "ledger intact" in output
    assert "cache_guard" in output
    assert (checkout / "evidence.zip").is_file()
