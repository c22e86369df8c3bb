"""Field types shared by request bodies: plain text, reasons, RFC 3339 times, integer bounds."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, WithJsonSchema

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
