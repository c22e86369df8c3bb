"""A local server speaking the Slack Web API methods Steward uses, and Slack request signing.

It checks the bot token, keeps every call and the current state of every posted message, and
answers as Slack does (``ok``, ``channel`` id, ``ts``). slack_sdk's ``WebClient`` talks to it
through ``base_url``. Requests *from* Slack are signed here with slack_sdk's real algorithm.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_TOKEN = "xoxb-test-bot-token"
SIGNING_SECRET = "test-signing-secret-8f14e45fceea167a"


@dataclass
class SlackCall:
    """One Web API call as received."""

    method: str
    args: dict[str, Any]
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeSlack:
    """The fake workspace: its calls, its messages by ``(channel id, ts)``."""

    token: str = BOT_TOKEN
    calls: list[SlackCall] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    failing_methods: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> Starlette:
        """Return the ASGI app serving ``/api/<method>``."""
        return Starlette(routes=[Route("/api/{method}", self._handle, methods=["POST"])])

    def calls_to(self, method: str) -> list[SlackCall]:
        """Return the calls made to ``method`` so far."""
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, predicate: Callable[[FakeSlack], Any], timeout: float = 15.0) -> Any:
        """Poll until ``predicate(self)`` is truthy and return its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate(self)
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"fake Slack never saw what was expected; calls: {self.calls}")

    @staticmethod
    def channel_id(channel: str) -> str:
        """Return the id Slack gives a channel name (ids pass through)."""
        name = channel.lstrip("#")
        return name if name[:1] == "C" and name.isupper() else f"C{name.upper()}"

    async def _handle(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        if request.headers.get("content-type", "").startswith("application/json"):
            args: dict[str, Any] = await request.json()
        else:
            args = {key: str(value) for key, value in (await request.form()).items()}
        with self._lock:
            if method in self.failing_methods:
                answer: dict[str, Any] = {"ok": False, "error": "fatal_error"}
            else:
                answer = self._answer(method, args)
            self.calls.append(SlackCall(method, args, answer))
            return JSONResponse(answer)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if "channel" not in args:
            return {"ok": False, "error": "channel_not_found"}
        channel = self.channel_id(str(args["channel"]))
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if method == "chat.postMessage":
            ts = f"{1_700_000_000 + next(self._ts)}.000100"
            self.messages[(channel, ts)] = {"text": args.get("text"), "blocks": blocks}
            return {"ok": True, "channel": channel, "ts": ts}
        if method == "chat.update":
            key = (channel, str(args.get("ts")))
            if key not in self.messages:
                return {"ok": False, "error": "message_not_found"}
            self.messages[key] = {"text": args.get("text"), "blocks": blocks}
            return {"ok": True, "channel": channel, "ts": key[1]}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{time.time():.6f}"}
        return {"ok": False, "error": "unknown_method"}


def signed_headers(
    body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Return the headers Slack sends with ``body``: a timestamp and its v0 signature."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def button_press(user_id: str, action_id: str, approval_id: str, channel: str) -> bytes:
    """Return the form body Slack posts when ``user_id`` presses a button on our message."""
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower()},
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel},
        "actions": [{"action_id": action_id, "value": approval_id, "type": "button"}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def slash_command(user_id: str, text: str, channel: str = "CSTEWARD") -> bytes:
    """Return the form body Slack posts for ``/steward <text>``."""
    return urlencode(
        {"command": "/steward", "text": text, "user_id": user_id, "channel_id": channel}
    ).encode()


def all_text(blocks: list[dict[str, Any]] | None) -> str:
    """Return every text in ``blocks`` joined, for assertions."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            text = node.get("text")
            if isinstance(text, str):
                found.append(text)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks or [])
    return "\n".join(found)
