"""The bodies of error answers, as the OpenAPI document declares them.

Every refusal is ``{"detail": "..."}``. A 422 adds ``errors``, one entry per offending field
(named the way a sender writes it, ``events[3].timestamp``), when the refusal is about fields.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    """Why the request was refused."""

    detail: str


class FieldErrorOut(BaseModel):
    """One offending field."""

    field: str = Field(description="Where, as a sender writes it: events[3].timestamp")
    message: str
    type: str = Field(description="A machine-readable kind, e.g. missing or string_too_short")


class ValidationErrorOut(BaseModel):
    """A request the API could not accept: ``detail`` in one line, ``errors`` per field."""

    detail: str
    errors: list[FieldErrorOut] = Field(default_factory=list)
