"""Rotating API keys and changing when they expire (creation and revocation: ``apikeys``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from api.models import ApiKey, utcnow
from api.schemas.admin import MAX_ROTATION_GRACE
from api.services.keys import create_api_key, key_status

# A grace period lets clients switch to the new secret; longer than this is a second key.


class KeyStateError(ValueError):
    """The key is in a state that does not allow the change (revoked, expired, rotated)."""


def rotate_api_key(
    session: Session, key_id: str, grace: timedelta = timedelta(0)
) -> tuple[ApiKey, str, ApiKey]:
    """Issue a new secret for a key's principal and roles, and retire the old key.

    The new key keeps the old one's expiry. Without a grace period the old key is revoked now;
    with one it keeps working until ``now + grace`` (or its own earlier expiry), then expires.
    The caller's transaction commits both rows.

    Args:
        session: Open session.
        key_id: Public id of the key to rotate.
        grace: How long the old secret keeps working, at most ``MAX_ROTATION_GRACE``.

    Returns:
        The new key, its token (shown only this once), and the retired key.

    Raises:
        KeyError: No key has that id.
        KeyStateError: The key is revoked, expired or already rotated.
        ValueError: A negative or too long grace period.
    """
    if grace < timedelta(0) or grace > MAX_ROTATION_GRACE:
        raise ValueError(f"grace must be between 0 and {MAX_ROTATION_GRACE.days} days")
    old = session.get(ApiKey, key_id)
    if old is None:
        raise KeyError(f"unknown API key id {key_id!r}")
    status = key_status(old)
    if status != "active":
        raise KeyStateError(f"API key {key_id} is {status}: only an active key can be rotated")
    if old.replaced_by is not None:
        raise KeyStateError(
            f"API key {key_id} was already rotated; its successor is {old.replaced_by}"
        )

    new, token = create_api_key(session, old.principal, old.roles, expires_at=old.expires_at)
    now = utcnow()
    old.replaced_by = new.id
    if grace == timedelta(0):
        old.revoked_at = now
    else:
        ends = now + grace
        old.expires_at = ends if old.expires_at is None else min(old.expires_at, ends)
    session.add(old)
    session.flush()
    return new, token, old


def set_key_expiry(session: Session, key_id: str, expires_at: datetime | None) -> ApiKey:
    """Make a key expire at ``expires_at`` (a past time expires it now; None: never).

    Args:
        session: Open session.
        key_id: Public id of the key.
        expires_at: Timezone-aware time, or None to remove the expiry.

    Returns:
        The changed key.

    Raises:
        KeyError: No key has that id.
        KeyStateError: The key is revoked (a revoked key stays revoked).
        ValueError: A naive ``expires_at``.
    """
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValueError("expires_at must include a time zone")
    key = session.get(ApiKey, key_id)
    if key is None:
        raise KeyError(f"unknown API key id {key_id!r}")
    if key.revoked_at is not None:
        raise KeyStateError(f"API key {key_id} is revoked; create or rotate a key instead")
    key.expires_at = expires_at
    session.add(key)
    session.flush()
    return key
