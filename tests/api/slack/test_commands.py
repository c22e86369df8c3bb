"""The /steward slash command and Slack link management, against the fake Web API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.worker import Worker

from api.models import RefusedApproval
from api.models.access import RefusalCount
from tests.support import slack_world
from tests.support.fake_slack import (
    FakeSlack,
    all_text,
    slash_command,
)
from tests.support.incidents import body, wait_status
from tests.support.slack_world import (
    AUDITOR_SLACK_ID,
    OPERATOR_SLACK_ID,
    STRANGER_SLACK_ID,
    link,
    post_signed,
    posted_for,
    wait_until,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Fixtures by assignment (see tests/support/slack_world.py).
fake_slack = slack_world.fake_slack
slack_api = slack_world.slack_api


@pytest.mark.usefixtures("temporal_env")
async def test_slash_commands_answer_privately_and_refuse_strangers(
    slack_api: str,
    fake_slack: tuple[FakeSlack, str],
    api_keys: dict[str, str],
    engine: Engine,
) -> None:
    from tests.support.db import new_approval, new_incident

    slack, _ = fake_slack
    with Session(engine) as session:
        incident = new_incident(status="awaiting_approval")
        approval = new_approval(incident)
        session.add(incident)
        session.add(approval)
        session.commit()
        approval_id = approval.id
    async with httpx.AsyncClient(base_url=slack_api, timeout=10) as api:
        await link(api, api_keys["admin"], OPERATOR_SLACK_ID, "operator-user")
        status = await post_signed(
            api, "/slack/commands", slash_command(OPERATOR_SLACK_ID, "status")
        )
        assert status.status_code == 200 and status.json()["response_type"] == "ephemeral"
        assert (
            approval_id in status.json()["text"] and "1 awaiting_approval" in status.json()["text"]
        )
        usage = await post_signed(api, "/slack/commands", slash_command(OPERATOR_SLACK_ID, ""))
        assert usage.json()["text"].startswith("Usage: `/steward status`")
        stranger = await post_signed(
            api, "/slack/commands", slash_command(STRANGER_SLACK_ID, f"approve {approval_id}")
        )
        assert stranger.status_code == 200
        assert "is not linked to a principal" in stranger.json()["text"]
        # The workflow behind this approval is gone: the vote is refused and the user told so.
        orphan = await post_signed(
            api, "/slack/commands", slash_command(OPERATOR_SLACK_ID, f"approve {approval_id} ok")
        )
        assert orphan.json()["text"] == f"Recording your approve of `{approval_id}`…"
        told = await wait_until(lambda: slack.calls_to("chat.postEphemeral"))
        assert told[0].args["text"].startswith("Not counted: the incident is no longer running")
        missing = await post_signed(
            api, "/slack/commands", slash_command(OPERATOR_SLACK_ID, "approve inc-none.1")
        )
        assert missing.status_code == 200
        await wait_until(lambda: len(slack.calls_to("chat.postEphemeral")) == 2)
        assert "no approval 'inc-none.1'" in slack.calls_to("chat.postEphemeral")[1].args["text"]
        malformed = await post_signed(api, "/slack/interactions", b"payload=%7Bnot-json")
        assert malformed.status_code == 400
    with Session(engine) as session:
        refused = session.exec(select(RefusalCount).where(RefusalCount.status == 403)).one()
        attempts = session.exec(select(RefusedApproval)).all()
    assert refused.route == "/slack/commands" and refused.principal == ""
    assert STRANGER_SLACK_ID in refused.reason
    assert [(a.principal, a.approval_id) for a in attempts] == [("operator-user", approval_id)]


async def test_reject_with_the_slash_command(
    slack_api: str,
    fake_slack: tuple[FakeSlack, str],
    worker: Worker,
    api_keys: dict[str, str],
    demo: httpx.Client,
) -> None:
    slack, _ = fake_slack
    demo.post("/admin/faults", json={"error_rate": 0.4})
    async with httpx.AsyncClient(base_url=slack_api, timeout=30) as api:
        await link(api, api_keys["admin"], OPERATOR_SLACK_ID, "operator-user")
        opened = await api.post(
            "/api/v1/incidents",
            json=body(signal="errors-slash", playbook="error_burst"),
            headers={"X-API-Key": api_keys["engineer"]},
        )
        ident = opened.json()["id"]
        post = await wait_until(lambda: posted_for(slack, ident))
        command = slash_command(OPERATOR_SLACK_ID, f"reject {ident}.1 too risky <!here>")
        answer = await post_signed(api, "/slack/commands", command)
        assert answer.json()["text"] == f"Recording your reject of `{ident}.1`…"
        found = await wait_status(api, ident, api_keys["auditor"], {"rejected"})
        vote = found["approvals"][0]["votes"][0]
        assert vote["comment"] == "too risky <!here>"  # stored verbatim ...

        def rejected_update() -> Any:
            return next(
                (
                    c
                    for c in slack.calls_to("chat.update")
                    if c.args["ts"] == post.answer["ts"]
                    and "Rejected" in all_text(c.args["blocks"])
                ),
                None,
            )

        update = await wait_until(rejected_update)
        shown = all_text(update.args["blocks"])
        assert "too risky &lt;!here&gt;" in shown and "<!here>" not in shown  # ... shown escaped


async def test_slack_links_are_managed_by_admins(
    api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    admin = {"X-API-Key": api_keys["admin"]}
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as api:
        nobody = await api.put(
            "/api/v1/slack/links/UNOBODY1", json={"principal": "ghost"}, headers=admin
        )
        assert nobody.status_code == 422 and "no active API key" in nobody.json()["detail"]
        bad_id = await api.put(
            "/api/v1/slack/links/not-a-user", json={"principal": "operator-user"}, headers=admin
        )
        assert bad_id.status_code == 422
        await link(api, api_keys["admin"], AUDITOR_SLACK_ID, "auditor-user")
        listed = (await api.get("/api/v1/slack/links", headers=admin)).json()
        assert [(r["slack_user_id"], r["principal"], r["created_by"]) for r in listed] == [
            (AUDITOR_SLACK_ID, "auditor-user", "admin-user")
        ]
        assert (
            await api.delete(f"/api/v1/slack/links/{AUDITOR_SLACK_ID}", headers=admin)
        ).status_code == 204
        assert (
            await api.delete(f"/api/v1/slack/links/{AUDITOR_SLACK_ID}", headers=admin)
        ).status_code == 404
        # Slack is not configured on this server: its doors are closed.
        closed = await post_signed(api, "/slack/interactions", b"payload=%7B%7D")
        assert closed.status_code == 404
