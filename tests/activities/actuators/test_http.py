"""The generic HTTP and webhook actuators against a real local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.actuators.activities import ActuatorActivities
from activities.policy.signing import DecisionSigner, params_sha256
from activities.types import ActuatorCall, Authorization
from api.core.settings import Settings
from bench.harness.servers import serve_app
from tests.support.catalog import write_catalog
from tests.support.environment import SIGNING_KEY

pytestmark = pytest.mark.asyncio(loop_scope="session")
WORKFLOW_ID = "inc-http-test"


@pytest.fixture
def admin_api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in for any system's admin API: records what it receives."""
    received: list[dict[str, Any]] = []
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def anything(path: str, request: Request) -> Response:
        body = await request.body()
        received.append(
            {
                "method": request.method,
                "path": path,
                "body": body.decode(),
                "key": request.headers.get("idempotency-key"),
            }
        )
        status = int(request.query_params.get("status", "200"))
        return Response(content='{"ok": true}', status_code=status, media_type="application/json")

    with serve_app(app) as url:
        yield url, received


async def run_apply(settings: Settings, actuator: str, params: dict[str, Any]) -> dict[str, Any]:
    signer = DecisionSigner(SIGNING_KEY.encode())
    auth = signer.sign(
        Authorization(
            workflow_id=WORKFLOW_ID,
            step=3,
            actuator=actuator,
            params_sha256=params_sha256(params),
            bundle_sha256="b" * 64,
            approved_by=[],
        )
    )
    env = ActivityEnvironment()
    env.info = replace(env.info, workflow_id=WORKFLOW_ID)
    async with httpx.AsyncClient(timeout=5) as http:
        acts = ActuatorActivities(http, settings, signer)
        result: dict[str, Any] = await env.run(
            acts.apply, ActuatorCall(step=3, actuator=actuator, params=params, authorization=auth)
        )
        return result


async def test_http_request_sends_body_and_idempotency_key(
    settings: Settings, admin_api: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = admin_api
    params = {
        "method": "POST",
        "url": f"{url}/pools/web/drain",
        "body": {"node": "n1"},
        "expected_status": 200,
    }
    result = await run_apply(settings, "http.request", params)
    assert result["status"] == 200
    assert received == [
        {
            "method": "POST",
            "path": "pools/web/drain",
            "body": '{"node":"n1"}',
            "key": f"{WORKFLOW_ID}:3",
        }
    ]


async def test_http_request_unexpected_4xx_is_final(
    settings: Settings, admin_api: tuple[str, list[dict[str, Any]]]
) -> None:
    url, _ = admin_api
    params = {"method": "DELETE", "url": f"{url}/x?status=404", "expected_status": 204}
    with pytest.raises(ApplicationError) as err:
        await run_apply(settings, "http.request", params)
    assert err.value.non_retryable and "answered 404, expected 204" in str(err.value)


async def test_http_request_unexpected_5xx_is_retryable(
    settings: Settings, admin_api: tuple[str, list[dict[str, Any]]]
) -> None:
    url, _ = admin_api
    params = {"method": "POST", "url": f"{url}/x?status=503", "expected_status": 200}
    with pytest.raises(Exception) as err:
        await run_apply(settings, "http.request", params)
    assert not getattr(err.value, "non_retryable", False)
    assert "answered 503" in str(err.value)


async def test_invalid_parameters_name_the_field(settings: Settings) -> None:
    with pytest.raises(ApplicationError) as err:
        await run_apply(settings, "http.request", {"method": "BREW", "url": "not a url"})
    assert err.value.type == "InvalidParameters" and err.value.non_retryable
    assert "method" in str(err.value) and "url" in str(err.value)


async def test_notify_webhook_posts_text(
    settings: Settings, admin_api: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = admin_api
    await run_apply(settings, "notify.webhook", {"url": f"{url}/hook", "text": "scaled demo"})
    assert received[0]["body"] == '{"text":"scaled demo"}'
    assert received[0]["key"] == f"{WORKFLOW_ID}:3"


async def test_a_demo_actuator_on_a_kubernetes_service_is_final(
    settings: Settings, tmp_path: Path
) -> None:
    catalog = write_catalog(tmp_path)
    on_kubernetes = settings.model_copy(update={"catalog_path": catalog})
    params = {"service": "checkout", "replicas": 3}
    with pytest.raises(ApplicationError) as err:
        await run_apply(on_kubernetes, "demo.scale", params)
    assert err.value.non_retryable and err.value.type == "ActuatorRejected"
    assert "'checkout' runs on Kubernetes" in str(err.value)
