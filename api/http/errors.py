"""422 answers that name each offending field the way a sender writes it: ``events[3].timestamp``.

Every validation error of the app is answered ``{"detail": "events[3].timestamp: Input should
have timezone info", "errors": [{"field", "message", "type"}]}`` (see
:func:`install_validation_errors`); the answer never echoes the input, so no input can make
it unencodable. Also the text and time types request models share: reasons without control
characters, and times that are RFC 3339 strings rather than epoch numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

# Where FastAPI says a value came from; the sender only knows the path inside it.
_SOURCES = {"body", "query", "path", "header", "cookie"}
# The one-line detail lists this many errors; ``errors`` lists them all.
_DETAIL_ERRORS = 5


def field_path(loc: Sequence[str | int]) -> str:
    """``("body", "events", 3, "timestamp")`` -> ``events[3].timestamp``."""
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or str(loc[0] if loc else "body")


def encodable(text: str) -> str:
    """Return ``text`` with what UTF-8 cannot carry (lone surrogates) backslash-escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic/FastAPI errors as ``{"field", "message", "type"}``."""
    return [
        {
            "field": encodable(field_path(error.get("loc", ()))),
            "message": encodable(str(error.get("msg", "invalid"))),
            "type": str(error.get("type", "value_error")),
        }
        for error in errors
    ]


def unprocessable(errors: list[dict[str, str]]) -> JSONResponse:
    """The 422 answer for named field errors."""
    shown = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:_DETAIL_ERRORS])
    if len(errors) > _DETAIL_ERRORS:
        shown += f"; and {len(errors) - _DETAIL_ERRORS} more"
    return JSONResponse(
        {"detail": shown, "errors": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
    )


def invalid(field: str, message: str, kind: str = "value_error") -> RequestValidationError:
    """An error about one field, raised from a route and answered like pydantic's own."""
    return RequestValidationError([{"loc": ("body", *_split(field)), "msg": message, "type": kind}])


def _split(field: str) -> list[str | int]:
    """Inverse of :func:`field_path` for simple paths (``events`` or ``ids``)."""
    parts = field.replace("[", ".").replace("]", "").split(".")
    return [int(p) if p.isdigit() else p for p in parts]


class NamedFieldRoute(APIRoute):
    """A route whose validation errors are answered by :func:`unprocessable`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler to reword its validation errors."""
        handler = super().get_route_handler()

        async def named(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return unprocessable(field_errors(exc.errors()))

        return named


def install_validation_errors(app: FastAPI) -> None:
    """Answer every request validation error of ``app`` with :func:`unprocessable`."""

    async def named(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return unprocessable(field_errors(exc.errors()))

    app.add_exception_handler(RequestValidationError, named)
