"""Run ASGI apps for tests on real sockets, each in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    For a child process that binds the port itself; there is a small window in which another
    process may take it. ``serve_app`` avoids that window by handing uvicorn the bound socket.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOCALHOST, 0))
        port: int = probe.getsockname()[1]
        return port


def port_accepts_connections(port: int, host: str = LOCALHOST) -> bool:
    """Return whether something is listening on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def serve_app(app: Any, *, startup_timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port for the duration of the block.

    Yields the base URL (``http://127.0.0.1:<port>``) once the server accepts connections, and
    shuts the server down (running the app's lifespan shutdown) on exit.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # asyncio only sets TCP_NODELAY on sockets created with proto=IPPROTO_TCP; connections
    # accepted from this one inherit the option instead, avoiding ~40 ms Nagle/delayed-ACK stalls.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind((LOCALHOST, 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="auto")
    server = uvicorn.Server(config)
    # Passing the already-bound socket means no other process can grab the port meanwhile.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name=f"uvicorn-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not (server.started and port_accepts_connections(port)):
            if not thread.is_alive():
                raise RuntimeError(f"the app failed to start on port {port}; see the log above")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app was not serving on port {port} in {startup_timeout}s")
            time.sleep(0.01)
        yield f"http://{LOCALHOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
