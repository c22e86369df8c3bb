"""The permission matrix on every route, refusals recorded, body limits and rate limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.core.permissions import PUBLIC, ROLE_PERMISSIONS, Permission, permissions_of
from api.core.ratelimit import TokenBucketLimiter, retry_after_header
from api.core.settings import Settings, get_settings
from api.http.deps import OPENAPI_PERMISSION_KEY, allow, guarded
from api.main import create_app
from api.models import Role
from api.models.access import RefusalCount
from bench.harness.servers import serve_app

# The intended matrix, route by route. A new route fails this test until it is listed here.
EXPECTED_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/api/v1/playbooks"): Permission.CATALOG_READ,
    ("GET", "/api/v1/services"): Permission.INCIDENTS_READ,
    ("GET", "/api/v1/incidents"): Permission.INCIDENTS_READ,
    ("POST", "/api/v1/incidents"): Permission.INCIDENTS_OPEN,
    ("GET", "/api/v1/incidents/{incident_id}"): Permission.INCIDENTS_READ,
    ("GET", "/api/v1/incidents/sweep"): Permission.INCIDENTS_SWEEP,
    ("POST", "/api/v1/incidents/sweep"): Permission.INCIDENTS_SWEEP,
    ("GET", "/api/v1/approvals"): Permission.APPROVALS_READ,
    ("POST", "/api/v1/approvals/{approval_id}/decision"): Permission.APPROVALS_DECIDE,
    ("GET", "/api/v1/keys"): Permission.KEYS_MANAGE,
    ("POST", "/api/v1/keys"): Permission.KEYS_MANAGE,
    ("POST", "/api/v1/keys/{key_id}/rotate"): Permission.KEYS_MANAGE,
    ("PATCH", "/api/v1/keys/{key_id}"): Permission.KEYS_MANAGE,
    ("POST", "/api/v1/keys/{key_id}/revoke"): Permission.KEYS_MANAGE,
    ("GET", "/api/v1/refusals"): Permission.REFUSALS_READ,
    ("GET", "/api/v1/slack/links"): Permission.SLACK_MANAGE,
    ("PUT", "/api/v1/slack/links/{slack_user_id}"): Permission.SLACK_MANAGE,
    ("DELETE", "/api/v1/slack/links/{slack_user_id}"): Permission.SLACK_MANAGE,
    ("POST", "/slack/interactions"): PUBLIC,
    ("POST", "/slack/commands"): PUBLIC,
    ("GET", "/api/v1/incidents/{incident_id}/evidence"): Permission.INCIDENTS_READ,
    ("GET", "/api/v1/incidents/{incident_id}/card"): Permission.INCIDENTS_READ,
    ("POST", "/api/v1/incidents/{incident_id}/undo"): Permission.INCIDENTS_OPEN,
    ("POST", "/api/v1/incidents/{incident_id}/simulations"): Permission.INCIDENTS_READ,
    ("GET", "/api/v1/audit/verify"): Permission.INCIDENTS_READ,
    ("GET", "/api/v1/policy"): Permission.CATALOG_READ,
    ("PUT", "/api/v1/policy/kill-switch"): Permission.POLICY_MANAGE,
    ("POST", "/api/v1/policy/freezes"): Permission.POLICY_MANAGE,
    ("DELETE", "/api/v1/policy/freezes/{freeze_id}"): Permission.POLICY_MANAGE,
    ("POST", "/api/v1/policy/reload"): Permission.POLICY_MANAGE,
    ("GET", "/api/v1/monitors"): Permission.MONITORS_READ,
    ("POST", "/api/v1/monitors"): Permission.MONITORS_MANAGE,
    ("GET", "/api/v1/monitors/{name}"): Permission.MONITORS_READ,
    ("PUT", "/api/v1/monitors/{name}"): Permission.MONITORS_MANAGE,
    ("DELETE", "/api/v1/monitors/{name}"): Permission.MONITORS_MANAGE,
    ("POST", "/api/v1/monitors/{name}/pause"): Permission.MONITORS_MANAGE,
    ("POST", "/api/v1/monitors/{name}/resume"): Permission.MONITORS_MANAGE,
    ("POST", "/api/v1/monitors/{name}/run"): Permission.MONITORS_MANAGE,
    ("POST", "/api/v1/events"): Permission.SIGNALS_INGEST,
    ("POST", "/api/v1/alerts/alertmanager"): Permission.SIGNALS_INGEST,
    ("POST", "/api/v1/deliveries"): Permission.SIGNALS_INGEST,
    ("GET", "/api/v1/triage/deliveries/{delivery_id}"): Permission.DELIVERIES_READ,
    ("POST", "/api/v1/triage/deliveries/batch"): Permission.DELIVERIES_READ,
    ("GET", "/api/v1/replay/recommendations"): Permission.DELIVERIES_READ,
}
ROLES = [role.value for role in Role]
# Values that satisfy path patterns, so a permitted call gets past routing to the handler.
PATH_VALUES = {"slack_user_id": "UNOBODY1"}


def openapi_operations(schema: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (method.upper(), path): operation[OPENAPI_PERMISSION_KEY]
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "nothing-here"), path)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[Any]:
    """Serve an app built with extra settings: ``served(**env) -> base URL``."""
    from contextlib import ExitStack

    with ExitStack() as stack:

        def serve(**env: str) -> str:
            for name, value in env.items():
                monkeypatch.setenv(f"STEWARD_{name.upper()}", value)
            get_settings.cache_clear()
            return stack.enter_context(serve_app(create_app()))

        yield serve


def test_the_matrix_is_declared_once_and_every_role_is_in_it() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)
    assert permissions_of(["auditor", "no-such-role"]) == ROLE_PERMISSIONS[Role.AUDITOR]
    assert Permission.KEYS_MANAGE not in permissions_of(["operator", "engineer", "auditor"])


def test_a_router_with_an_unguarded_route_is_refused() -> None:
    router = APIRouter(prefix="/api/v1/extra")

    @router.get("/forgotten")
    def forgotten() -> None:
        return None

    @router.get("/twice", dependencies=[allow(Permission.KEYS_MANAGE)])
    def twice(_: Any = allow(Permission.INCIDENTS_READ)) -> None:
        return None

    with pytest.raises(RuntimeError) as refused:
        guarded(router)
    assert "GET /api/v1/extra/forgotten declares 0 permissions" in str(refused.value)
    assert "GET /api/v1/extra/twice declares 2 permissions" in str(refused.value)

    guarded_router = APIRouter(dependencies=[allow(Permission.KEYS_MANAGE)])

    @guarded_router.get("/fine")
    def fine() -> None:
        return None

    assert guarded(guarded_router) is guarded_router
    route = guarded_router.routes[0]
    assert isinstance(route, APIRoute)
    assert route.openapi_extra == {OPENAPI_PERMISSION_KEY: "keys:manage"}


@pytest.mark.asyncio(loop_scope="session")
async def test_every_route_and_role_from_the_openapi_schema(
    api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        schema = (await api.get("/openapi.json")).json()
        operations = openapi_operations(schema)
        assert operations == {key: str(value) for key, value in EXPECTED_ROUTES.items()}

        checked = 0
        for (method, path), permission in sorted(operations.items()):
            url = concrete(path)
            if permission == PUBLIC:
                continue
            anonymous = await api.request(method, url, json={})
            assert anonymous.status_code == 401, (method, path)
            for role in ROLES:
                answer = await api.request(
                    method, url, json={}, headers={"X-API-Key": api_keys[role]}
                )
                allowed = Permission(permission) in ROLE_PERMISSIONS[Role(role)]
                if allowed:
                    assert answer.status_code not in (401, 403), (method, path, role, answer.text)
                else:
                    assert answer.status_code == 403, (method, path, role, answer.text)
                    assert permission in answer.json()["detail"]
                checked += 1
        assert checked == len(ROLES) * sum(p != PUBLIC for p in operations.values())

        health = await api.get("/healthz")
        assert health.status_code == 200

    with Session(engine) as session:
        refused = session.exec(select(RefusalCount).where(RefusalCount.status == 403)).all()
    assert refused, "403s are recorded"
    first = refused[0]
    assert first.principal is not None and first.route.startswith("/api/v1/")
    assert first.method in {"GET", "POST", "PUT", "PATCH", "DELETE"}
    assert "needs one of the roles" in first.reason


@pytest.mark.asyncio(loop_scope="session")
async def test_refusals_are_recorded_with_principal_route_and_reason(
    api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as api:
        assert (await api.get("/api/v1/incidents")).status_code == 401
        bad = await api.get(
            "/api/v1/incidents/abc", headers={"X-API-Key": "stw_0123456789ab_x" * 2}
        )
        assert bad.status_code == 401 and bad.json()["detail"] == "the API key is not valid"
        denied = await api.get("/api/v1/keys", headers={"X-API-Key": api_keys["operator"]})
        assert denied.status_code == 403
        listed = await api.get(
            "/api/v1/refusals", params={"limit": 10}, headers={"X-API-Key": api_keys["auditor"]}
        )
        assert listed.status_code == 200
    rows = listed.json()
    assert [(r["status"], r["method"], r["route"], r["principal"]) for r in rows[:3]] == [
        (403, "GET", "/api/v1/keys", "operator-user"),
        (401, "GET", "/api/v1/incidents/{incident_id}", None),
        (401, "GET", "/api/v1/incidents", None),
    ]
    assert rows[2]["reason"] == "no API key"
    assert rows[1]["reason"] == "API key refused: unknown key"
    assert rows[1]["key_id"] == "0123456789ab"
    assert "keys:manage needs one of the roles admin" in rows[0]["reason"]
    assert rows[0]["client"] == "127.0.0.1"


@pytest.mark.usefixtures("temporal_env")
@pytest.mark.asyncio(loop_scope="session")
async def test_oversized_bodies_get_413_and_are_recorded(
    served: Any, api_keys: dict[str, str], engine: Engine
) -> None:
    url = served(max_body_bytes="2048")
    headers = {"X-API-Key": api_keys["engineer"]}
    async with httpx.AsyncClient(base_url=url, timeout=10) as api:
        big = {"service": "demo", "signal": "x", "severity": "low", "playbook": "high_latency"}
        big["summary"] = "A" * 4000
        declared = await api.post("/api/v1/incidents", json=big, headers=headers)
        assert declared.status_code == 413
        assert "the limit is 2048 bytes" in declared.json()["detail"]

        async def chunks() -> Any:
            for _ in range(8):
                yield b"x" * 512  # sent chunked: no Content-Length to trust

        streamed = await api.post("/api/v1/incidents", content=chunks(), headers=headers)
        assert streamed.status_code == 413
        assert "sent more than 2048 bytes" in streamed.json()["detail"]
        small = await api.post("/api/v1/incidents", json={"service": "demo"}, headers=headers)
        assert small.status_code == 422  # within the limit: the route sees it
        listed = await api.get(
            "/api/v1/refusals", params={"status": 413}, headers={"X-API-Key": api_keys["auditor"]}
        )
    # Both are one kind (the size sent is not part of it): one row, counted twice.
    assert [(r["route"], r["method"], r["principal"], r["count"]) for r in listed.json()] == [
        ("/api/v1/incidents", "POST", None, 2)
    ]
    assert listed.json()[0]["reason"] == "request body too large: the limit is 2048 bytes"


@pytest.mark.asyncio(loop_scope="session")
async def test_each_key_is_rate_limited_on_its_own(
    served: Any, api_keys: dict[str, str], engine: Engine
) -> None:
    url = served(rate_limit_burst="3", rate_limit_per_minute="6")
    async with httpx.AsyncClient(base_url=url, timeout=10) as api:
        operator = {"X-API-Key": api_keys["operator"]}
        answers = [(await api.get("/api/v1/incidents", headers=operator)) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        limited = answers[-1]
        assert 1 <= int(limited.headers["Retry-After"]) <= 10
        assert "rate limit exceeded" in limited.json()["detail"]
        other = await api.get("/api/v1/incidents", headers={"X-API-Key": api_keys["auditor"]})
        assert other.status_code == 200
    with Session(engine) as session:
        row = session.exec(select(RefusalCount).where(RefusalCount.status == 429)).one()
    assert row.principal == "operator-user" and row.route == "/api/v1/incidents"


def test_token_bucket_refills_at_the_configured_rate() -> None:
    now = [100.0]
    limiter = TokenBucketLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert limiter.take("k") == 0 and limiter.take("k") == 0
    wait = limiter.take("k")
    assert wait == pytest.approx(1.0)
    assert limiter.take("other") == 0
    now[0] += 0.5
    assert limiter.take("k") == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.take("k") == 0
    now[0] += 3600  # a long pause refills only up to the burst
    assert [limiter.take("k") for _ in range(3)][:2] == [0, 0]
    assert retry_after_header(0.01) == "1" and retry_after_header(2.2) == "3"
    with pytest.raises(ValueError):
        TokenBucketLimiter(per_minute=0, burst=1)
