"""API key administration (admins only): issue, list, rotate, expire and revoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, status

from api.core.permissions import Permission
from api.http.deps import SessionDep, allow
from api.models import ApiKey
from api.schemas.admin import KeyCreate, KeyCreated, KeyExpiry, KeyOut, KeyRotate, KeyRotated
from api.services.key_rotation import KeyStateError, rotate_api_key, set_key_expiry
from api.services.keys import create_api_key, key_status, list_api_keys, revoke_api_key

router = APIRouter(
    prefix="/api/v1/keys", tags=["keys"], dependencies=[allow(Permission.KEYS_MANAGE)]
)


def key_out(key: ApiKey) -> KeyOut:
    """Return the public view of ``key``."""
    return KeyOut(
        id=key.id,
        principal=key.principal,
        roles=list(key.roles),
        status=key_status(key),
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
        replaced_by=key.replaced_by,
    )


def _with_token(key: ApiKey, token: str) -> KeyCreated:
    return KeyCreated(**key_out(key).model_dump(), key=token)


def _unknown(key_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no API key {key_id!r}")


@router.get("", response_model=list[KeyOut])
def list_keys(session: SessionDep) -> list[KeyOut]:
    """List every key, oldest first (secrets are never shown again)."""
    return [key_out(key) for key in list_api_keys(session)]


@router.post("", response_model=KeyCreated, status_code=status.HTTP_201_CREATED)
def create_key(body: KeyCreate, session: SessionDep) -> KeyCreated:
    """Issue a key; its token is in this answer and nowhere else."""
    try:
        key, token = create_api_key(
            session, body.principal, [role.value for role in body.roles], body.expires_at
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    session.commit()
    return _with_token(key, token)


_UNKNOWN_KEY: dict[int | str, dict[str, Any]] = {404: {"description": "No key has this id"}}
_KEY_STATE: dict[int | str, dict[str, Any]] = {
    409: {"description": "The key is revoked or expired, or was rotated"}
}


@router.post(
    "/{key_id}/rotate",
    response_model=KeyRotated,
    status_code=status.HTTP_201_CREATED,
    responses={**_UNKNOWN_KEY, **_KEY_STATE},
)
def rotate_key(key_id: str, body: KeyRotate, session: SessionDep) -> KeyRotated:
    """Issue a new secret for the same principal and roles; retire the old one after a grace."""
    try:
        new, token, previous = rotate_api_key(
            session, key_id, timedelta(seconds=body.grace_seconds)
        )
    except KeyError as exc:
        raise _unknown(key_id) from exc
    except KeyStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    return KeyRotated(new=_with_token(new, token), previous=key_out(previous))


@router.patch("/{key_id}", response_model=KeyOut, responses={**_UNKNOWN_KEY, **_KEY_STATE})
def set_expiry(key_id: str, body: KeyExpiry, session: SessionDep) -> KeyOut:
    """Change when a key expires (a past time expires it at once; null: never)."""
    try:
        key = set_key_expiry(session, key_id, body.expires_at)
    except KeyError as exc:
        raise _unknown(key_id) from exc
    except KeyStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    session.commit()
    return key_out(key)


@router.post("/{key_id}/revoke", response_model=KeyOut, responses=_UNKNOWN_KEY)
def revoke_key(key_id: str, session: SessionDep) -> KeyOut:
    """Revoke a key now; revoking it again keeps the first time."""
    try:
        key = revoke_api_key(session, key_id)
    except KeyError as exc:
        raise _unknown(key_id) from exc
    session.commit()
    return key_out(key)
