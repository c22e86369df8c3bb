"""Run the demo target: ``python -m workers.demo_target [--host H] [--port N]``."""

from __future__ import annotations

import argparse
import signal
from types import FrameType

import uvicorn

from api.core.settings import get_settings
from workers.demo_target.app import create_app
from workers.demo_target.journal import FILE_NAME
from workers.demo_target.model import DemoTarget


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    """Serve the demo target until SIGINT or SIGTERM, then return 0.

    Its idempotency keys, action log and state persist in ``STEWARD_HOME/demo_target.db``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m workers.demo_target", description="Run the Steward demo target."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=None, help="port to bind (default: STEWARD_DEMO_PORT)"
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level (info)")
    args = parser.parse_args(argv)
    settings = get_settings()
    port = args.port if args.port is not None else settings.demo_port
    target = DemoTarget.open(settings.home.resolve() / FILE_NAME)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to whatever
    # handler was installed before it; without these, that re-raise would kill the process with
    # -SIGTERM or a KeyboardInterrupt traceback instead of exiting 0.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_cleanly)
    uvicorn.run(create_app(target), host=args.host, port=port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
