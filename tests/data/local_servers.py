"""Servers on 127.0.0.1 that answer, stall, reset, disconnect or truncate, for the corpus."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.data.server_responses import RESPONSES


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def _answer(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        response = RESPONSES[name]
        body = response.body.encode()
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        if name == "redirect_loop":
            self.send_header("Location", self.path)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


@contextlib.contextmanager
def http_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


@contextlib.contextmanager
def raw_server(behaviour: str) -> Iterator[int]:
    """A TCP server that stalls, resets, closes or truncates instead of answering."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            held.append(connection)
            with contextlib.suppress(OSError):
                connection.settimeout(1)
                connection.recv(65536)
                if behaviour == "reset":
                    connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    connection.close()
                elif behaviour == "close":
                    connection.close()
                elif behaviour == "truncate":
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
                    connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()
        for connection in held:
            connection.close()


def closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def numeric_hosts_only() -> contextlib.AbstractContextManager[None]:
    """Make every name lookup local (AI_NUMERICHOST), so no DNS server is ever asked."""
    original = socket.getaddrinfo

    def numeric_only(
        host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> Any:  # noqa: A002
        return original(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

    @contextlib.contextmanager
    def patched() -> Iterator[None]:
        socket.getaddrinfo = numeric_only  # type: ignore[assignment]
        try:
            yield
        finally:
            socket.getaddrinfo = original  # type: ignore[assignment]

    return patched()
