"""Slack-enabled Steward for tests: the fake Web API, an API configured for it, helpers.

Use the fixtures by assignment in a test module (``fake_slack = slack_world.fake_slack``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.core.settings import Settings, get_settings
from api.main import create_app
from bench.harness.servers import serve_app
from tests.support.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, signed_headers

OPERATOR_SLACK_ID = "UOPERATOR1"
AUDITOR_SLACK_ID = "UAUDITOR1"
STRANGER_SLACK_ID = "USTRANGER1"
INJECTION = "<!channel> *bold* <https://evil.example|click> & `x`; DROP TABLE incident;--"


@pytest.fixture
def fake_slack() -> Iterator[tuple[FakeSlack, str]]:
    slack = FakeSlack()
    with serve_app(slack.app()) as url:
        yield slack, f"{url}/api/"


def slack_environment(web_api: str) -> dict[str, str]:
    """The environment that turns Slack on against the fake Web API at ``web_api``."""
    return {
        f"STEWARD_{name}": value
        for name, value in {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": web_api,
            "SLACK_CHANNEL": "#approvals",
            "SLACK_SERVICE_CHANNELS": '{"demo": "#demo-ops"}',
            "SLACK_ESCALATION_CHANNEL": "#escalations",
            "SLACK_POLL_SECONDS": "0.1",
        }.items()
    }


@pytest.fixture
def slack_api(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: tuple[FakeSlack, str],
) -> Iterator[str]:
    """The API with Slack configured against the fake Web API."""
    _, web_api = fake_slack
    for name, value in slack_environment(web_api).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with serve_app(create_app()) as url:
        yield url


async def link(api: httpx.AsyncClient, admin_key: str, slack_user: str, principal: str) -> None:
    answer = await api.put(
        f"/api/v1/slack/links/{slack_user}",
        json={"principal": principal},
        headers={"X-API-Key": admin_key},
    )
    assert answer.status_code == 200, answer.text


async def post_signed(api: httpx.AsyncClient, path: str, raw: bytes) -> httpx.Response:
    return await api.post(path, content=raw, headers=signed_headers(raw))


def posted_for(slack: FakeSlack, incident_id: str) -> Any:
    return next(
        (
            call
            for call in slack.calls_to("chat.postMessage")
            if incident_id in call.args.get("text", "")
        ),
        None,
    )


async def wait_until(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise TimeoutError("condition never held")
