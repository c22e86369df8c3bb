"""The record of refused requests (401, 403, 413, 429): who asked, for what, and why not."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from api.access_models import RefusedRequest

logger = logging.getLogger("steward.refusals")

# Statuses that mean "you may not", as opposed to "that is wrong" (4xx validation) or "we failed".
REFUSAL_STATUSES = frozenset({401, 403, 413, 429})
# Bounds on caller-controlled text, so a refusal cannot be used to fill the database.
MAX_FIELD_CHARS = 1000


def log_safe(text: str | None) -> str:
    """Return ``text`` with control characters escaped, so caller input cannot forge log lines."""
    if text is None:
        return "-"
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


@dataclass(frozen=True)
class Refusal:
    """One refused request.

    Attributes:
        method: HTTP method.
        route: The route's path template when it matched one, else the requested path.
        status: 401, 403, 413 or 429.
        reason: Why, in full (the HTTP answer may say less to an unauthenticated caller).
        principal: Who the caller proved to be; None when it proved nothing.
        key_id: Public id of the presented key, when the token was well-formed.
        client: The caller's address.
    """

    method: str
    route: str
    status: int
    reason: str
    principal: str | None = None
    key_id: str | None = None
    client: str | None = None


def record_refusal(engine: Engine, refusal: Refusal) -> None:
    """Store ``refusal`` and log it; a database failure is logged, never raised.

    The request is refused either way: failing to record it must not turn a 403 into a 500.
    """
    logger.warning(
        "refused %s %s with %d for %s: %s",
        refusal.method,
        log_safe(refusal.route),
        refusal.status,
        log_safe(refusal.principal),
        log_safe(refusal.reason),
    )
    row = RefusedRequest(
        principal=refusal.principal,
        key_id=refusal.key_id,
        method=refusal.method[:16],
        route=refusal.route[:MAX_FIELD_CHARS],
        status=refusal.status,
        reason=refusal.reason[:MAX_FIELD_CHARS],
        client=refusal.client,
    )
    try:
        with Session(engine) as session:
            session.add(row)
            session.commit()
    except SQLAlchemyError:
        logger.exception("could not record a refused request")
