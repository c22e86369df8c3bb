"""Attacks on the API: bad keys, role escalation, hostile text, oversized and forged requests."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.http.guards import NO_ROUTE
from api.models import ApiKey, Incident, utcnow
from api.models.access import RefusalCount, SlackUserLink
from api.services.keys import create_api_key, revoke_api_key
from api.services.refusals import log_safe
from api.slack.links import principal_for_slack_user

pytestmark = pytest.mark.asyncio(loop_scope="session")

HOSTILE_TEXT = [
    "'; DROP TABLE incident; --",
    '" OR "1"="1',
    "<script>alert(document.cookie)</script>",
    "{{7*7}} ${jndi:ldap://127.0.0.1/x} %s%s%n",
    "[bold red]markup[/bold red] <!channel> <@U0001> &amp;",
    "line one\nINFO forged log line\r\nsecond",
    "\u202eevil-rtl \u0007bell \x1b[31mansi",
    "../../../../etc/passwd",
]


def incident_body(signal: str, summary: str) -> dict[str, Any]:
    return {
        "service": "demo",
        "signal": signal,
        "severity": "low",
        "playbook": "high_latency",
        # No worker runs here: the playbook never starts, only the stored text matters.
        "summary": summary,
    }


async def test_missing_wrong_malformed_revoked_and_expired_keys(
    api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    admin_key_id = api_keys["admin"].split("_")[1]
    wrong_secret = f"stw_{admin_key_id}_" + "A" * 43
    cases = {
        "no header": {},
        "empty key": {"X-API-Key": ""},
        "bare bearer": {"Authorization": "Bearer"},
        "basic auth": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "sql in key": {"X-API-Key": "' OR 1=1 --"},
        "huge key": {"X-API-Key": "stw_" + "a" * 20_000},
        "wrong secret": {"X-API-Key": wrong_secret},
        "unknown id": {"Authorization": "Bearer stw_abcdefabcdef_" + "B" * 43},
    }
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as api:
        for name, headers in cases.items():
            answer = await api.get("/api/v1/keys", headers=headers)
            assert answer.status_code == 401, name
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            # A guesser learns nothing about which check failed.
            assert answer.json()["detail"] in {
                "the API key is not valid",
                "an API key is required (X-API-Key header or Authorization: Bearer)",
            }, name

        with Session(engine) as session:
            _, revoked = create_api_key(session, "mallory", ["admin"])
            _, expired = create_api_key(
                session, "mallory", ["admin"], expires_at=utcnow().replace(year=2000)
            )
            session.commit()
            revoke_api_key(session, revoked.split("_")[1])
            session.commit()
        gone = await api.get("/api/v1/keys", headers={"X-API-Key": revoked})
        assert gone.status_code == 401 and gone.json()["detail"] == "the API key is revoked"
        old = await api.get("/api/v1/keys", headers={"Authorization": f"Bearer {expired}"})
        assert old.status_code == 401 and old.json()["detail"] == "the API key is expired"

    with Session(engine) as session:
        reasons = session.exec(select(RefusalCount.reason).where(RefusalCount.status == 401)).all()
    assert "API key refused: wrong secret" in reasons and "API key refused: revoked" in reasons
    assert "API key refused: expired" in reasons and "no API key" in reasons


async def test_role_escalation_attempts_are_refused_and_change_nothing(
    api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    admin_key_id = api_keys["admin"].split("_")[1]
    operator = {"X-API-Key": api_keys["operator"]}
    with Session(engine) as session:
        keys_before = len(session.exec(select(ApiKey)).all())
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as api:
        attempts = [
            await api.post(
                "/api/v1/keys",
                json={"principal": "operator-user", "roles": ["admin"]},
                headers=operator,
            ),
            await api.post(f"/api/v1/keys/{admin_key_id}/rotate", json={}, headers=operator),
            await api.post(f"/api/v1/keys/{admin_key_id}/revoke", headers=operator),
            await api.patch(
                f"/api/v1/keys/{admin_key_id}", json={"expires_at": None}, headers=operator
            ),
            await api.put(
                "/api/v1/slack/links/UOPERATOR1",
                json={"principal": "admin-user"},
                headers={"X-API-Key": api_keys["engineer"]},
            ),
            await api.get("/api/v1/refusals", headers={"X-API-Key": api_keys["engineer"]}),
            await api.post(
                "/api/v1/incidents",
                json=incident_body("escalate", "auditors only read"),
                headers={"X-API-Key": api_keys["auditor"]},
            ),
            # Two credentials: X-API-Key is the one used; the admin bearer adds nothing.
            await api.get(
                "/api/v1/keys",
                headers={**operator, "Authorization": f"Bearer {api_keys['admin']}"},
            ),
        ]
        assert [a.status_code for a in attempts] == [403] * len(attempts)
        invented = await api.post(
            "/api/v1/keys",
            json={"principal": "eve", "roles": ["superuser"]},
            headers={"X-API-Key": api_keys["admin"]},
        )
        assert invented.status_code == 422
        smuggled = await api.post(
            "/api/v1/keys",
            json={"principal": "eve", "roles": ["operator"], "secret_hash": "x"},
            headers={"X-API-Key": api_keys["admin"]},
        )
        assert smuggled.status_code == 422  # unknown fields are refused, not ignored
        assert (await api.get("/api/v1/keys", headers={"X-API-Key": api_keys["admin"]})).is_success
    with Session(engine) as session:
        assert len(session.exec(select(ApiKey)).all()) == keys_before
        admin_key = session.get(ApiKey, admin_key_id)
        assert admin_key is not None and admin_key.revoked_at is None
        assert session.exec(select(SlackUserLink)).all() == []
        assert session.exec(select(Incident)).all() == []
        refused = session.exec(
            select(RefusalCount).where(RefusalCount.principal == "operator-user")
        ).all()
    assert len(refused) == 5 and all(r.status == 403 for r in refused)


async def test_revoking_a_persons_keys_also_ends_their_slack_powers(engine: Engine) -> None:
    with Session(engine) as session:
        key, _ = create_api_key(session, "frank", ["operator"])
        session.add(SlackUserLink(slack_user_id="UFRANK1", principal="frank", created_by="t"))
        session.commit()
        acting = principal_for_slack_user(session, "UFRANK1")
        assert acting is not None and acting.roles == frozenset({"operator"})
        revoke_api_key(session, key.id)
        session.commit()
        assert principal_for_slack_user(session, "UFRANK1") is None
        assert principal_for_slack_user(session, "UNOBODY1") is None


@pytest.mark.usefixtures("temporal_env")
async def test_hostile_text_is_stored_and_echoed_verbatim(
    api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    headers = {"X-API-Key": api_keys["engineer"]}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        for number, text in enumerate(HOSTILE_TEXT):
            opened = await api.post(
                "/api/v1/incidents", json=incident_body(f"hostile-{number}", text), headers=headers
            )
            assert opened.status_code == 201, opened.text
            assert opened.json()["summary"] == text
            again = await api.get(f"/api/v1/incidents/{opened.json()['id']}", headers=headers)
            assert again.json()["summary"] == text
        # Identifiers are names, not free text: hostile ones are refused before storage.
        for field in ("service", "signal"):
            bad = await api.post(
                "/api/v1/incidents",
                json={**incident_body("x", "y"), field: HOSTILE_TEXT[0]},
                headers=headers,
            )
            assert bad.status_code == 422
        principal = await api.post(
            "/api/v1/keys",
            json={"principal": HOSTILE_TEXT[0], "roles": ["operator"]},
            headers={"X-API-Key": api_keys["admin"]},
        )
        assert principal.status_code == 422
    with Session(engine) as session:
        stored = {row.summary for row in session.exec(select(Incident)).all()}
    assert stored == set(HOSTILE_TEXT)  # and the incident table is still there


async def test_refusal_logs_cannot_be_forged(
    api_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="steward.refusals")
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as api:
        big = b"x" * (1_048_576 + 1)
        answer = await api.post("/nowhere%0D%0AWARNING forged%1B[31m", content=big)
        assert answer.status_code == 413
    with Session(engine) as session:
        row = session.exec(select(RefusalCount).where(RefusalCount.status == 413)).one()
    # A path that matches no route is the caller's free text: neither stored nor logged.
    assert row.route == NO_ROUTE
    lines = [r.getMessage() for r in caplog.records if r.name == "steward.refusals"]
    assert len(lines) == 1
    assert "\n" not in lines[0] and "\r" not in lines[0] and "\x1b" not in lines[0]
    assert "forged" not in lines[0] and NO_ROUTE in lines[0]


@pytest.mark.asyncio(loop_scope="session")
async def test_log_safe_escapes_control_characters() -> None:
    assert log_safe("/nowhere\r\nWARNING forged\x1b[31m") == (
        "/nowhere\\r\\nWARNING forged\\x1b[31m"
    )
    assert log_safe(None) == "-"
