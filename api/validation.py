"""422 answers that name each offending field the way a sender writes it: ``events[3].timestamp``.

Every validation error of the app is answered ``{"detail": "events[3].timestamp: Input should
have timezone info", "errors": [{"field", "message", "type"}]}`` (see
:func:`install_validation_errors`); the answer never echoes the input, so no input can make
it unencodable. Also the text and time types request models share: reasons without control
characters, and times that are RFC 3339 strings rather than epoch numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, WithJsonSchema

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


# The largest integer the databases store (SQLite and PostgreSQL BIGINT); a larger id or
# offset is refused as invalid instead of overflowing in the driver.
MAX_DB_INTEGER = 2**63 - 1

# C0 control characters and DEL: they forge log lines and once broke policy decisions.
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


def _no_control_characters(text: str) -> str:
    found = CONTROL_CHARACTER.search(text)
    if found is not None:
        raise ValueError(
            f"must not contain control characters: U+{ord(found.group()):04X} at position "
            f"{found.start()}"
        )
    return text


# One line of plain text (the pattern is for the OpenAPI document; the validator says which
# character was refused).
PlainText = Annotated[
    str,
    Field(json_schema_extra={"pattern": NO_CONTROL_CHARACTERS}),
    AfterValidator(_no_control_characters),
]
# Why a safety control was changed: it is shown in every decision it causes.
Reason = Annotated[
    str,
    Field(min_length=1, max_length=500, json_schema_extra={"pattern": NO_CONTROL_CHARACTERS}),
    AfterValidator(_no_control_characters),
]

_NUMBER_TEXT = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


_NOT_A_TIME = "must be an RFC 3339 date-time string with an offset, e.g. 2026-01-31T09:00:00+00:00"


def _not_epoch(value: Any) -> Any:
    """Refuse numbers (and numbers in strings), which pydantic would read as Unix time."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number or (isinstance(value, str) and _NUMBER_TEXT.fullmatch(value)):
        raise ValueError(f"{_NOT_A_TIME}, not a number")
    return value


def _not_epoch_text(value: Any) -> Any:
    """Refuse numbers in strings; numbers themselves are Unix time."""
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        raise ValueError(f"{_NOT_A_TIME}, or a number of seconds since 1970, not a string")
    return value


# A moment in time as the OpenAPI document declares it: an RFC 3339 string with an offset.
ZonedTime = Annotated[AwareDatetime, BeforeValidator(_not_epoch)]
# The same, where a missing offset means UTC (query strings lose their "+").
QueryTime = Annotated[datetime, BeforeValidator(_not_epoch)]
# RFC 3339 with an offset, or Unix time in seconds as a number (pushed data points).
TimeOrEpoch = Annotated[
    AwareDatetime,
    BeforeValidator(_not_epoch_text),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "number", "description": "Unix time in seconds"},
            ]
        }
    ),
]
