"""API keys: creation, authentication, revocation.

A key is shown to its owner once, as ``stw_<id>_<secret>``: ``id`` is 12 hex characters (public,
the row's primary key) and ``secret`` is ``secrets.token_urlsafe(32)``. Only a hex HMAC-SHA256 of
the secret is stored. The secret is 256 random bits, so a slow password hash would add nothing
against guessing, and authentication runs on every request, so it has to be fast.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from api.models import ApiKey, Role, utcnow

TOKEN_PREFIX = "stw"
KEY_ID_HEX_CHARS = 12
# Recording every request would turn each authenticated read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# HMAC key separating these hashes from any other SHA-256 of the same bytes. It need not be
# secret: the secrets it hashes are unguessable on their own.
_HASH_PEPPER = b"steward.api-key.v1"
_TOKEN_PATTERN = re.compile(
    rf"^{TOKEN_PREFIX}_(?P<key_id>[0-9a-f]{{{KEY_ID_HEX_CHARS}}})_(?P<secret>[A-Za-z0-9_-]{{16,128}})$"
)
_MAX_ID_ATTEMPTS = 5


class AuthError(Exception):
    """A token was refused.

    The reason is for logs and the CLI; HTTP responses should not tell a caller which check
    failed.

    Attributes:
        reason: Why the token was refused.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Principal:
    """Who a request acts for, as proved by an API key.

    Attributes:
        name: The principal the key was issued to.
        roles: Role names the key grants.
        key_id: Public id of the key used.
    """

    name: str
    roles: frozenset[str]
    key_id: str

    def has_role(self, role: str) -> bool:
        """Return whether the principal holds ``role``."""
        return role in self.roles


def hash_secret(secret: str) -> str:
    """Return the stored form of a key secret: hex HMAC-SHA256 under the module pepper."""
    return hmac.new(_HASH_PEPPER, secret.encode(), hashlib.sha256).hexdigest()


def format_token(key_id: str, secret: str) -> str:
    """Return the token a client presents for key ``key_id`` with ``secret``."""
    return f"{TOKEN_PREFIX}_{key_id}_{secret}"


def validate_roles(roles: Iterable[str]) -> list[str]:
    """Return ``roles`` as sorted, de-duplicated role names.

    Args:
        roles: Role names to check against ``Role``.

    Returns:
        The sorted unique role names.

    Raises:
        ValueError: A role is unknown, or no role was given.
    """
    known = {role.value for role in Role}
    names = {str(role).strip().lower() for role in roles}
    unknown = sorted(names - known)
    if unknown:
        raise ValueError(
            f"unknown role(s): {', '.join(unknown)}; known roles: {', '.join(sorted(known))}"
        )
    if not names:
        raise ValueError(f"at least one role is required; known roles: {', '.join(sorted(known))}")
    return sorted(names)


def create_api_key(
    session: Session,
    principal: str,
    roles: Iterable[str],
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Create a key for ``principal`` and return it with its token (shown only this once).

    The row is added to ``session``; the caller's transaction commits it.

    Args:
        session: Open session.
        principal: Who the key acts for.
        roles: Role names the key grants (see ``Role``).
        expires_at: When the key stops working; never when ``None``.

    Returns:
        The stored key and the plaintext token ``stw_<id>_<secret>``.

    Raises:
        ValueError: Empty principal, unknown or missing roles, or a naive ``expires_at``.
    """
    name = principal.strip()
    if not name:
        raise ValueError("principal must not be empty")
    role_names = validate_roles(roles)
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")

    key_id = _unused_key_id(session)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=key_id,
        principal=name,
        roles=role_names,
        secret_hash=hash_secret(secret),
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, format_token(key_id, secret)


def _unused_key_id(session: Session) -> str:
    # 48 random bits collide rarely, but a collision would otherwise surface as an IntegrityError.
    for _ in range(_MAX_ID_ATTEMPTS):
        key_id = secrets.token_hex(KEY_ID_HEX_CHARS // 2)
        if session.get(ApiKey, key_id) is None:
            return key_id
    raise RuntimeError("could not find an unused API key id")


def authenticate(session: Session, token: str) -> Principal:
    """Return the principal a token proves, or raise ``AuthError``.

    Updates ``last_used_at`` at most once per ``LAST_USED_RESOLUTION``; the caller's transaction
    commits that change.

    Args:
        session: Open session.
        token: The presented ``stw_<id>_<secret>`` token.

    Returns:
        The key's principal and roles.

    Raises:
        AuthError: Malformed token, unknown key, wrong secret, revoked or expired key.
    """
    match = _TOKEN_PATTERN.match(token.strip()) if isinstance(token, str) else None
    if match is None:
        raise AuthError("malformed token")
    presented_hash = hash_secret(match["secret"])
    key = session.get(ApiKey, match["key_id"])
    if key is None:
        raise AuthError("unknown key")
    if not hmac.compare_digest(presented_hash, key.secret_hash):
        raise AuthError("wrong secret")
    # Status is checked only after the secret, so a guesser learns nothing about a key's state.
    now = utcnow()
    if key.revoked_at is not None:
        raise AuthError("revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise AuthError("expired")
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
        session.add(key)
    return Principal(name=key.principal, roles=frozenset(key.roles), key_id=key.id)


def revoke_api_key(session: Session, key_id: str) -> ApiKey:
    """Revoke a key; revoking it again keeps the first revocation time.

    Args:
        session: Open session.
        key_id: Public id of the key.

    Returns:
        The revoked key.

    Raises:
        KeyError: No key has that id.
    """
    key = session.get(ApiKey, key_id)
    if key is None:
        raise KeyError(f"unknown API key id {key_id!r}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        session.flush()
    return key


def list_api_keys(session: Session) -> list[ApiKey]:
    """Return every key, oldest first."""
    statement = select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.id))
    return list(session.exec(statement).all())


def key_status(key: ApiKey, now: datetime | None = None) -> str:
    """Return ``"revoked"``, ``"expired"`` or ``"active"`` for ``key`` at ``now``."""
    now = now or utcnow()
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"
