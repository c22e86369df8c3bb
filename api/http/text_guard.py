r"""Refuse JSON bodies holding a lone UTF-16 surrogate (``"\ud800"``), on every route.

JSON may write any code unit as an escape, and ``json.loads`` turns a lone ``\ud800`` into
a Python string that UTF-8 cannot encode: the database, the ledger, Slack and every JSON
answer would fail on it later, with a 500. No field of the API has a use for one, so the
request is answered 422 naming the field before any route sees it. A valid pair (an emoji
written as two escapes) decodes to one character and passes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.errors import unprocessable

# Cheap test on the raw bytes: only a body with a surrogate escape is parsed here.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_FORMS = (b"application/x-www-form-urlencoded", b"multipart/form-data")


def lone_surrogates(document: Any, path: str = "") -> Iterator[str]:
    """Yield the path (``events[3].id``) of each string or key holding a lone surrogate."""
    if isinstance(document, str):
        if _SURROGATE.search(document):
            yield path or "body"
    elif isinstance(document, dict):
        for key, value in document.items():
            where = f"{path}.{key}" if path else str(key)
            if _SURROGATE.search(key):
                yield where.encode("utf-8", "backslashreplace").decode()
            else:
                yield from lone_surrogates(value, where)
    elif isinstance(document, list):
        for index, item in enumerate(document):
            yield from lone_surrogates(item, f"{path}[{index}]")


class LoneSurrogateGuard:
    """Answers 422 to a JSON body with a lone surrogate in any string; passes the rest on."""

    def __init__(self, app: ASGIApp) -> None:
        """Wrap ``app``."""
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body, check it, then replay it to the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
        if content_type.startswith(_FORMS):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        fields = _offending_fields(body)
        if fields:
            errors = [
                {
                    "field": field,
                    "message": "must not contain a lone UTF-16 surrogate (\\ud800-\\udfff)",
                    "type": "lone_surrogate",
                }
                for field in fields
            ]
            await unprocessable(errors)(scope, receive, send)
            return
        await self.app(scope, _replay(messages, receive), send)


def _offending_fields(body: bytes) -> list[str]:
    if not _SURROGATE_ESCAPE.search(body):
        return []
    try:
        document = json.loads(body)
    except ValueError:
        return []  # not JSON: the route answers as it would
    return list(lone_surrogates(document))


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
