"""Proving a request came from Slack: signature, timestamp window, and no replay."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import timedelta

from slack_sdk.signature import SignatureVerifier
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from api.models import utcnow
from api.models.access import SlackRequestNonce

# Slack's own recommendation: refuse requests whose timestamp is more than five minutes off.
WINDOW_SECONDS = 5 * 60
# Nonces outlive the window, so that a replay is caught until the window alone refuses it.
NONCE_RETENTION = timedelta(seconds=2 * WINDOW_SECONDS)
# Unix seconds in ASCII digits: str.isdigit() also admits "²" and other digits int() refuses,
# and int() refuses more than 4,300 digits; both once ended in a 500.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class SlackVerificationError(Exception):
    """The request cannot be shown to come from Slack, once. ``reason`` says which check failed.

    Attributes:
        reason: Why (kept in the refused-request record, not told to the caller).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_slack_request(
    session: Session,
    signing_secret: str,
    body: bytes,
    headers: Mapping[str, str],
) -> None:
    """Check the signature over the raw body, the timestamp window and that it is not a replay.

    A verified request's signature is stored (and committed), so the same request sent again is
    refused even inside the five-minute window.

    Raises:
        SlackVerificationError: Missing headers, a stale or future timestamp, a signature that
            does not match the body, or a request already seen.
    """
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not _TIMESTAMP.fullmatch(timestamp) or not signature:
        raise SlackVerificationError("missing or malformed Slack signature headers")
    if abs(time.time() - int(timestamp)) > WINDOW_SECONDS:
        raise SlackVerificationError("timestamp outside the 5-minute window")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SlackVerificationError("body is not UTF-8") from exc
    verifier = SignatureVerifier(signing_secret)
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        raise SlackVerificationError("signature does not match the body")
    _remember(session, signature)


def _remember(session: Session, signature: str) -> None:
    now = utcnow()
    session.exec(
        delete(SlackRequestNonce).where(col(SlackRequestNonce.received_at) < now - NONCE_RETENTION)
    )  # type: ignore[call-overload]
    session.add(SlackRequestNonce(signature=signature, received_at=now))
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise SlackVerificationError("replayed request (signature already used)") from exc
