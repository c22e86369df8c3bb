"""API keys over the admin API: issue, rotate (with and without grace), expire, revoke."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from json import loads as json_loads

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from api.models import ApiKey, utcnow
from api.services.key_rotation import KeyStateError, rotate_api_key, set_key_expiry


async def status_of(api: httpx.AsyncClient, token: str) -> int:
    return (await api.get("/api/v1/incidents", headers={"X-API-Key": token})).status_code


@pytest.mark.asyncio(loop_scope="session")
async def test_key_lifecycle_through_the_admin_api(
    api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    admin = {"X-API-Key": api_keys["admin"]}
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as api:
        created = await api.post(
            "/api/v1/keys", json={"principal": "carol", "roles": ["operator"]}, headers=admin
        )
        assert created.status_code == 201, created.text
        first = created.json()
        assert first["status"] == "active" and first["roles"] == ["operator"]
        assert await status_of(api, first["key"]) == 200

        graceful = await api.post(
            f"/api/v1/keys/{first['id']}/rotate", json={"grace_seconds": 2}, headers=admin
        )
        assert graceful.status_code == 201, graceful.text
        second = graceful.json()["new"]
        previous = graceful.json()["previous"]
        assert previous["replaced_by"] == second["id"] and previous["status"] == "active"
        assert second["principal"] == "carol" and second["key"] != first["key"]
        # During the grace period both secrets work; afterwards only the new one.
        assert await status_of(api, first["key"]) == 200
        assert await status_of(api, second["key"]) == 200
        again = await api.post(f"/api/v1/keys/{first['id']}/rotate", json={}, headers=admin)
        assert again.status_code == 409 and "already rotated" in again.json()["detail"]
        await asyncio.sleep(2.1)
        expired = await api.get("/api/v1/incidents", headers={"X-API-Key": first["key"]})
        assert expired.status_code == 401 and expired.json()["detail"] == "the API key is expired"

        at_once = await api.post(f"/api/v1/keys/{second['id']}/rotate", json={}, headers=admin)
        third = at_once.json()["new"]
        assert at_once.json()["previous"]["status"] == "revoked"
        revoked = await api.get("/api/v1/incidents", headers={"X-API-Key": second["key"]})
        assert revoked.status_code == 401 and revoked.json()["detail"] == "the API key is revoked"

        past = (utcnow() - timedelta(minutes=1)).isoformat()
        expire = await api.patch(
            f"/api/v1/keys/{third['id']}", json={"expires_at": past}, headers=admin
        )
        assert expire.status_code == 200 and expire.json()["status"] == "expired"
        assert await status_of(api, third["key"]) == 401
        renew = await api.patch(
            f"/api/v1/keys/{third['id']}", json={"expires_at": None}, headers=admin
        )
        assert renew.json()["status"] == "active"
        assert await status_of(api, third["key"]) == 200

        gone = await api.post(f"/api/v1/keys/{third['id']}/revoke", headers=admin)
        assert gone.status_code == 200 and gone.json()["status"] == "revoked"
        assert await status_of(api, third["key"]) == 401
        no_revival = await api.patch(
            f"/api/v1/keys/{third['id']}", json={"expires_at": None}, headers=admin
        )
        assert no_revival.status_code == 409

        listed = (await api.get("/api/v1/keys", headers=admin)).json()
        assert "key" not in listed[0] and all("secret_hash" not in k for k in listed)
        carols = [k for k in listed if k["principal"] == "carol"]
        assert [k["status"] for k in carols] == ["expired", "revoked", "revoked"]

        assert (await api.post("/api/v1/keys/nope/revoke", headers=admin)).status_code == 404
        naive = await api.patch(
            f"/api/v1/keys/{third['id']}", json={"expires_at": "2030-01-01T00:00:00"}, headers=admin
        )
        assert naive.status_code == 422
        too_long = await api.post(
            f"/api/v1/keys/{third['id']}/rotate", json={"grace_seconds": 10**9}, headers=admin
        )
        assert too_long.status_code == 422


def test_rotation_rules_in_the_database(engine: Engine) -> None:
    from api.services.keys import create_api_key

    with Session(engine) as session:
        key, _ = create_api_key(session, "dave", ["engineer"], expires_at=utcnow() + timedelta(1))
        original_expiry = key.expires_at
        new, token, old = rotate_api_key(session, key.id, timedelta(hours=1))
        assert new.expires_at == original_expiry  # rotation does not extend a key's life
        assert old.expires_at is not None and old.expires_at <= utcnow() + timedelta(hours=1)
        assert token.startswith(f"stw_{new.id}_")
        with pytest.raises(KeyStateError):
            rotate_api_key(session, key.id)
        with pytest.raises(ValueError, match="between 0 and 7 days"):
            rotate_api_key(session, new.id, timedelta(days=8))
        with pytest.raises(KeyError):
            rotate_api_key(session, "000000000000")
        with pytest.raises(ValueError, match="time zone"):
            set_key_expiry(session, new.id, utcnow().replace(tzinfo=None))
        session.commit()
        assert session.get(ApiKey, key.id) is not None


def test_steward_keys_rotate(engine: Engine) -> None:
    from typer.testing import CliRunner

    from api.cli.keys import app as keys_app
    from api.services.keys import AuthError, authenticate, create_api_key

    with Session(engine) as session:
        key, old_token = create_api_key(session, "erin", ["operator"])
        session.commit()
        key_id = key.id
    runner = CliRunner()
    rotated = runner.invoke(keys_app, ["rotate", key_id, "--json"])
    assert rotated.exit_code == 0, rotated.output
    answer = json_loads(rotated.stdout)
    assert answer["replaces"]["id"] == key_id and answer["replaces"]["status"] == "revoked"
    assert "will not be shown again" in rotated.stderr
    with Session(engine) as session:
        assert authenticate(session, answer["key"]).name == "erin"
        with pytest.raises(AuthError, match="revoked"):
            authenticate(session, old_token)
    graceful = runner.invoke(keys_app, ["rotate", answer["id"], "--grace-seconds", "600"])
    assert graceful.exit_code == 0 and "the old key works until" in graceful.stdout
    again = runner.invoke(keys_app, ["rotate", key_id])
    assert again.exit_code == 2 and "only an active key can be rotated" in again.stderr
    unknown = runner.invoke(keys_app, ["rotate", "000000000000"])
    assert unknown.exit_code == 2 and "unknown API key id" in unknown.stderr
