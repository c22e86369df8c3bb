"""Temporal stops while the API runs: 503 with Retry-After, nothing recorded, votes count once.

Each test starts its own dev server (the session's cannot be stopped), stops it mid-test and
starts it again on the same port and database file, so the incident resumes where it was.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.policy.engine import EmbeddedPolicyEngine
from api.core.settings import Settings, get_settings
from api.main import create_app
from api.models import ApprovalVote, Incident, RefusedApproval
from api.models.audit import LedgerEntry
from api.services.approvals import vote_update_id
from api.slack.blocks import APPROVE_ACTION
from bench.harness.servers import serve_app
from tests.support import slack_world
from tests.support.environment import binary
from tests.support.fake_slack import FakeSlack, button_press, signed_headers
from tests.support.incidents import body, wait_status
from tests.support.slack_world import OPERATOR_SLACK_ID, link, wait_until
from tests.support.temporal_server import RestartableTemporal
from tests.workflows.playbooks import TEST_PLAYBOOKS
from workers.worker import build_worker
from workflows.types import ApprovalDecision

pytestmark = pytest.mark.asyncio(loop_scope="session")

fake_slack = slack_world.fake_slack


@pytest.fixture
def temporal(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RestartableTemporal]:
    """This test's own dev server; the settings point at it."""
    server = RestartableTemporal(binary("temporal"), tmp_path / "temporal")
    server.start()
    monkeypatch.setenv("STEWARD_TEMPORAL_ADDRESS", server.address)
    get_settings.cache_clear()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def own_worker(temporal: RestartableTemporal, engine: Engine) -> AsyncIterator[None]:
    """A worker on this test's server; it rides out the outage (the SDK retries its polls)."""
    settings = get_settings()
    client = await Client.connect(temporal.address)
    async with httpx.AsyncClient(timeout=10) as http:
        worker = build_worker(
            client, settings, engine, http, EmbeddedPolicyEngine(), extra_workflows=TEST_PLAYBOOKS
        )
        async with worker:
            yield


async def awaiting_approval(api: httpx.AsyncClient, keys: dict[str, str], signal: str) -> str:
    """Open an error-burst incident and return its approval id once it waits for a vote."""
    opened = await api.post(
        "/api/v1/incidents",
        json=body(signal=signal, playbook="error_burst"),
        headers={"X-API-Key": keys["engineer"]},
    )
    assert opened.status_code == 201, opened.text
    ident = str(opened.json()["id"])
    await wait_status(api, ident, keys["operator"], {"awaiting_approval"})
    return f"{ident}.1"


def assert_nothing_refused(engine: Engine) -> None:
    with Session(engine) as session:
        assert session.exec(select(RefusedApproval)).all() == []
        refused = select(LedgerEntry).where(LedgerEntry.kind == "approval_refused")
        assert session.exec(refused).all() == []
        assert session.exec(select(ApprovalVote)).all() == []


async def send_until_counted(api: httpx.AsyncClient, url: str, key: str) -> httpx.Response:
    """Send the vote until Temporal, starting again, answers something other than 503."""
    deadline = time.monotonic() + 60
    while True:
        answer = await api.post(url, json={"decision": "approve"}, headers={"X-API-Key": key})
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.5)


async def test_a_vote_while_temporal_is_down_is_not_a_refusal_and_counts_once_after(
    temporal: RestartableTemporal,
    own_worker: None,
    api_keys: dict[str, str],
    demo: httpx.Client,
    engine: Engine,
) -> None:
    demo.post("/admin/faults", json={"error_rate": 0.4})
    app = create_app()
    with serve_app(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as api:
            approval_id = await awaiting_approval(api, api_keys, "errors-outage")
            ident = approval_id.rsplit(".", 1)[0]
            # The API's client gives up after a bounded retry, not the SDK's ~10 s default.
            retry = app.state.temporal.service_client.config.retry_config
            assert retry.max_elapsed_time_millis == 1500
            temporal.stop()

            vote_url = f"/api/v1/approvals/{approval_id}/decision"
            operator = {"X-API-Key": api_keys["operator"]}
            down = await api.post(vote_url, json={"decision": "approve"}, headers=operator)
            assert down.status_code == 503, down.text
            assert down.headers["Retry-After"] == "5"
            assert down.json()["detail"] == (
                f"Temporal is unreachable at {temporal.address}; retry later"
            )
            assert_nothing_refused(engine)
            card = await api.get(f"/api/v1/incidents/{ident}/card", headers=operator)
            assert card.status_code == 200
            assert all(a["refused"] == [] for a in card.json()["approvals"])

            # Opening an incident needs Temporal too: 503, and no row is left behind.
            opened = await api.post(
                "/api/v1/incidents",
                json=body(signal="opened-while-down"),
                headers={"X-API-Key": api_keys["engineer"]},
            )
            assert opened.status_code == 503 and opened.headers["Retry-After"] == "5"
            with Session(engine) as session:
                signals = session.exec(select(Incident.signal)).all()
            assert signals == ["errors-outage"]

            temporal.start()
            counted = await send_until_counted(api, vote_url, api_keys["operator"])
            assert counted.status_code == 200, counted.text
            assert counted.json()["status"] == "approved"
            found = await wait_status(api, ident, api_keys["operator"], {"resolved", "failed"})
            assert found["status"] == "resolved"
            votes = [(v["principal"], v["decision"]) for v in found["approvals"][0]["votes"]]
            assert votes == [("operator-user", "approve")]
    with Session(engine) as session:
        assert session.exec(select(RefusedApproval)).all() == []


async def test_a_slack_vote_while_temporal_is_down_is_told_to_retry(
    temporal: RestartableTemporal,
    own_worker: None,
    fake_slack: tuple[FakeSlack, str],
    api_keys: dict[str, str],
    demo: httpx.Client,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slack, web_api = fake_slack
    for name, value in slack_world.slack_environment(web_api).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    demo.post("/admin/faults", json={"error_rate": 0.4})
    with serve_app(create_app()) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as api:
            await link(api, api_keys["admin"], OPERATOR_SLACK_ID, "operator-user")
            approval_id = await awaiting_approval(api, api_keys, "errors-slack-outage")
            temporal.stop()
            press = button_press(OPERATOR_SLACK_ID, APPROVE_ACTION, approval_id, "CDEMO-OPS")
            answered = await api.post(
                "/slack/interactions", content=press, headers=signed_headers(press)
            )
            assert answered.status_code == 200

            def told() -> Any:
                notes = [c.args.get("text", "") for c in slack.calls_to("chat.postEphemeral")]
                return next((n for n in notes if "not recorded yet" in n), None)

            note = await wait_until(told, timeout=30)
            assert f"Temporal is unreachable at {temporal.address}" in note
            assert "send it again" in note and "Not counted" not in note
            assert_nothing_refused(engine)
            temporal.start()


async def test_a_vote_sent_again_after_its_answer_was_lost_counts_once(
    api_url: str,
    worker: Worker,
    temporal_env: WorkflowEnvironment,
    api_keys: dict[str, str],
    demo: httpx.Client,
    engine: Engine,
) -> None:
    # Sent straight to Temporal first: through the API, the second would be answered from the
    # database (the approval is decided) before it reached Temporal.
    demo.post("/admin/faults", json={"error_rate": 0.4})
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as api:
        approval_id = await awaiting_approval(api, api_keys, "errors-resent")
        ident, step = approval_id.rsplit(".", 1)
        handle = temporal_env.client.get_workflow_handle(ident)
        vote = ApprovalDecision(
            step=int(step),
            principal="operator-user",
            roles=["operator"],
            decision="approve",
            comment="first",
        )
        update_id = vote_update_id(approval_id, "operator-user", "approve")
        # The API sent this Update and lost the answer (Temporal or the API went away after
        # Temporal accepted it); the same vote sent again is the same Update.
        first = await handle.execute_update("decide", vote, id=update_id, result_type=str)
        again = await handle.execute_update("decide", vote, id=update_id, result_type=str)
        assert first == again == "approved"
        # Through the API, once the approval is decided: answered as counted, not refused.
        resent = await api.post(
            f"/api/v1/approvals/{approval_id}/decision",
            json={"decision": "approve"},
            headers={"X-API-Key": api_keys["operator"]},
        )
        assert resent.status_code == 200 and resent.json()["status"] == "approved", resent.text
        found = await wait_status(api, ident, api_keys["operator"], {"resolved", "failed"})
    votes = [(v["principal"], v["decision"]) for v in found["approvals"][0]["votes"]]
    assert votes == [("operator-user", "approve")]
    with Session(engine) as session:
        assert session.exec(select(RefusedApproval)).all() == []


async def test_a_vote_while_no_worker_runs_is_503_and_counts_once_after(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    api_keys: dict[str, str],
    demo: httpx.Client,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Temporal answers, but no worker takes the vote: 503 in bounded time, not a hang."""
    monkeypatch.setenv("STEWARD_VOTE_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    demo.post("/admin/faults", json={"error_rate": 0.4})

    def a_worker(http: httpx.AsyncClient) -> Worker:
        return build_worker(
            temporal_env.client,
            get_settings(),
            engine,
            http,
            EmbeddedPolicyEngine(),
            extra_workflows=TEST_PLAYBOOKS,
        )

    with serve_app(create_app()) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as api:
            async with httpx.AsyncClient(timeout=10) as http, a_worker(http):
                approval_id = await awaiting_approval(api, api_keys, "errors-no-worker")
            vote_url = f"/api/v1/approvals/{approval_id}/decision"
            operator = {"X-API-Key": api_keys["operator"]}
            started = time.monotonic()
            down = await api.post(vote_url, json={"decision": "approve"}, headers=operator)
            assert down.status_code == 503, down.text
            assert time.monotonic() - started < 30  # bounded by the setting, not forever
            assert down.headers["Retry-After"] == "5"
            assert down.json()["detail"].startswith("no Steward worker answered within 2 s")
            assert_nothing_refused(engine)

            async with httpx.AsyncClient(timeout=10) as http, a_worker(http):
                counted = await send_until_counted(api, vote_url, api_keys["operator"])
                assert counted.status_code == 200, counted.text
                ident = approval_id.rsplit(".", 1)[0]
                found = await wait_status(api, ident, api_keys["operator"], {"resolved", "failed"})
            assert found["status"] == "resolved"
            votes = [(v["principal"], v["decision"]) for v in found["approvals"][0]["votes"]]
            assert votes == [("operator-user", "approve")]
