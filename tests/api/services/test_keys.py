"""API keys on real SQLite and PostgreSQL, and the ``steward keys`` CLI on a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from api.cli.keys import app as keys_app
from api.core.db import get_engine, reset_engine, session_scope
from api.core.settings import get_settings
from api.models import ApiKey, utcnow
from api.services.keys import (
    AuthError,
    Principal,
    authenticate,
    create_api_key,
    hash_secret,
    list_api_keys,
    revoke_api_key,
)

# Fixtures are found by module attribute (see tests/support/db.py).


def issue(
    db_engine: Engine,
    principal: str = "alice",
    roles: tuple[str, ...] = ("operator",),
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    with session_scope(db_engine) as session:
        return create_api_key(session, principal, roles, expires_at=expires_at)


def stored_key(db_engine: Engine, key_id: str) -> ApiKey:
    with Session(db_engine) as session:
        key = session.get(ApiKey, key_id)
    assert key is not None
    return key


def with_other_secret(token: str) -> str:
    prefix, key_id, _ = token.split("_", 2)
    return f"{prefix}_{key_id}_{'A' * 43}"


def auth(db_engine: Engine, token: str) -> Principal:
    with session_scope(db_engine) as session:
        return authenticate(session, token)


def refusal(db_engine: Engine, token: str) -> str:
    with pytest.raises(AuthError) as refused:
        auth(db_engine, token)
    return refused.value.reason


def test_created_key_authenticates_and_only_its_hash_is_stored(db_engine: Engine) -> None:
    key, token = issue(db_engine, "alice", ("operator", "admin", "operator"))

    prefix, key_id, secret = token.split("_", 2)
    assert (prefix, key_id) == ("stw", key.id)
    assert len(key.id) == 12 and int(key.id, 16) >= 0
    assert len(secret) >= 43
    with Session(db_engine) as session:
        stored = session.get(ApiKey, key.id)
        assert stored is not None
        assert stored.secret_hash == hash_secret(secret)
        assert secret not in stored.model_dump_json()
        assert stored.roles == ["admin", "operator"]

    principal = auth(db_engine, token)
    assert principal == Principal(
        name="alice", roles=frozenset({"operator", "admin"}), key_id=key.id
    )


def test_last_used_is_recorded_at_most_once_a_minute(db_engine: Engine) -> None:
    key, token = issue(db_engine)
    assert key.last_used_at is None
    auth(db_engine, token)
    first_use = stored_key(db_engine, key.id).last_used_at
    assert first_use is not None and utcnow() - first_use < timedelta(seconds=30)

    auth(db_engine, token)
    assert stored_key(db_engine, key.id).last_used_at == first_use

    with session_scope(db_engine) as session:
        stale = session.get(ApiKey, key.id)
        assert stale is not None
        stale.last_used_at = utcnow() - timedelta(minutes=5)
        session.add(stale)
    auth(db_engine, token)
    refreshed = stored_key(db_engine, key.id).last_used_at
    assert refreshed is not None and refreshed > first_use


@pytest.mark.parametrize(
    "token",
    [
        "",
        "stw_",
        "Bearer stw_0123456789ab_" + "a" * 43,
        "key_0123456789ab_" + "a" * 43,
        "stw_0123456789a_" + "a" * 43,
        "stw_0123456789AB_" + "a" * 43,
        "stw_0123456789ab_short",
        "stw_0123456789ab_" + "a" * 40 + "!!!",
    ],
)
def test_malformed_tokens_are_refused(db_engine: Engine, token: str) -> None:
    assert refusal(db_engine, token) == "malformed token"


def test_unknown_key_and_wrong_secret_are_refused(db_engine: Engine) -> None:
    key, token = issue(db_engine)

    assert refusal(db_engine, f"stw_{'f' * 12}_{token.split('_', 2)[2]}") == "unknown key"
    assert refusal(db_engine, with_other_secret(token)) == "wrong secret"
    assert auth(db_engine, token).key_id == key.id


def test_revoked_key_is_refused_and_revoking_again_keeps_the_time(db_engine: Engine) -> None:
    key, token = issue(db_engine)
    with session_scope(db_engine) as session:
        first = revoke_api_key(session, key.id).revoked_at
    with session_scope(db_engine) as session:
        again = revoke_api_key(session, key.id).revoked_at

    assert first is not None and again == first
    assert refusal(db_engine, token) == "revoked"
    # Without the secret a caller cannot learn that the key was revoked.
    assert refusal(db_engine, with_other_secret(token)) == "wrong secret"


def test_revoking_an_unknown_key_raises_key_error(db_engine: Engine) -> None:
    with pytest.raises(KeyError, match="unknown API key id"), session_scope(db_engine) as session:
        revoke_api_key(session, "000000000000")


def test_expired_key_is_refused_and_unexpired_key_works(db_engine: Engine) -> None:
    _, expired = issue(db_engine, expires_at=utcnow() - timedelta(seconds=1))
    _, valid = issue(db_engine, "bob", ("auditor",), expires_at=utcnow() + timedelta(hours=1))

    assert refusal(db_engine, expired) == "expired"
    assert auth(db_engine, valid).name == "bob"


def test_bad_principal_and_roles_are_rejected(db_engine: Engine) -> None:
    with pytest.raises(ValueError, match="known roles: admin, auditor, engineer, operator"):
        issue(db_engine, roles=("operator", "superuser"))
    with pytest.raises(ValueError, match="principal must not be empty"):
        issue(db_engine, principal="  ")
    with pytest.raises(ValueError, match="at least one role"):
        issue(db_engine, roles=())
    with Session(db_engine) as session:
        assert list_api_keys(session) == []


def test_list_returns_every_key_oldest_first(db_engine: Engine) -> None:
    first, _ = issue(db_engine, "alice")
    second, _ = issue(db_engine, "bob", ("engineer",))
    with session_scope(db_engine) as session:
        revoke_api_key(session, first.id)

    with Session(db_engine) as session:
        keys = list_api_keys(session)
    assert [(key.id, key.principal) for key in keys] == [(first.id, "alice"), (second.id, "bob")]
    assert keys[0].revoked_at is not None and keys[1].revoked_at is None


# --- the CLI -------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner whose ``get_engine()`` is a fresh SQLite file in ``tmp_path``."""
    monkeypatch.setenv("STEWARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STEWARD_DATABASE_URL", f"sqlite:///{tmp_path / 'keys.db'}")
    get_settings.cache_clear()
    reset_engine()
    yield CliRunner()
    reset_engine()
    get_settings.cache_clear()


def test_cli_create_json_prints_a_working_key_once(cli: CliRunner) -> None:
    result = cli.invoke(
        keys_app,
        [
            "create",
            "--principal",
            "ops",
            "--role",
            "operator",
            "--role",
            "engineer",
            "--expires-in-days",
            "7",
            "--json",
        ],
    )

    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert set(created) == {"id", "principal", "roles", "key", "expires_at"}
    assert created["roles"] == ["engineer", "operator"]
    assert "will not be shown again" in result.stderr
    principal = auth(get_engine(), created["key"])
    assert (principal.name, principal.key_id) == ("ops", created["id"])
    key = stored_key(get_engine(), created["id"])
    assert key.expires_at is not None
    assert timedelta(days=6, hours=23) < key.expires_at - utcnow() <= timedelta(days=7)


def test_cli_create_text_prints_the_token(cli: CliRunner) -> None:
    result = cli.invoke(keys_app, ["create", "--principal", "ops", "--role", "auditor"])

    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert auth(get_engine(), token).roles == frozenset({"auditor"})


def test_cli_list_and_revoke_never_show_secrets(cli: CliRunner) -> None:
    created = json.loads(
        cli.invoke(keys_app, ["create", "--principal", "ops", "--role", "admin", "--json"]).stdout
    )
    secret = created["key"].split("_", 2)[2]

    table = cli.invoke(keys_app, ["list"])
    assert table.exit_code == 0, table.output
    assert created["id"] in table.stdout and "ops" in table.stdout and "active" in table.stdout
    assert secret not in table.stdout

    revoked = cli.invoke(keys_app, ["revoke", created["id"]])
    assert revoked.exit_code == 0, revoked.output
    assert created["id"] in revoked.stdout

    listed = cli.invoke(keys_app, ["list", "--json"])
    [summary] = json.loads(listed.stdout)
    assert summary["id"] == created["id"] and summary["status"] == "revoked"
    assert "key" not in summary and "secret_hash" not in summary and secret not in listed.stdout
    assert refusal(get_engine(), created["key"]) == "revoked"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["create", "--principal", "ops", "--role", "root"], "error: unknown role(s): root"),
        (["create", "--principal", " ", "--role", "admin"], "error: principal must not be empty"),
        (["revoke", "0123456789ab"], "error: unknown API key id '0123456789ab'"),
    ],
)
def test_cli_bad_input_is_one_line_on_stderr_with_exit_code_2(
    cli: CliRunner, arguments: list[str], message: str
) -> None:
    result = cli.invoke(keys_app, arguments)

    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    # A clean exit, not an escaped exception that would print a traceback.
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output


def test_cli_rejects_non_positive_expiry(cli: CliRunner) -> None:
    result = cli.invoke(
        keys_app, ["create", "--principal", "ops", "--role", "admin", "--expires-in-days", "0"]
    )

    assert result.exit_code == 2
    assert "expires-in-days" in result.stderr
    with Session(get_engine()) as session:
        assert list_api_keys(session) == []
