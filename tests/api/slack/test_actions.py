"""Slack approvals end to end: a local Web API server, real signatures, the real worker."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.worker import Worker

from api.models import Approval, ApprovalVote, RefusedApproval
from api.models.access import RefusalCount
from api.slack.blocks import APPROVE_ACTION, REJECT_ACTION
from tests.support import slack_world
from tests.support.fake_slack import (
    FakeSlack,
    all_text,
    button_press,
    signed_headers,
    slash_command,
)
from tests.support.incidents import body, wait_status
from tests.support.slack_world import (
    INJECTION,
    OPERATOR_SLACK_ID,
    link,
    posted_for,
    wait_until,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Fixtures by assignment (see tests/support/slack_world.py).
fake_slack = slack_world.fake_slack
slack_api = slack_world.slack_api


async def test_approve_from_a_slack_button(
    slack_api: str,
    fake_slack: tuple[FakeSlack, str],
    worker: Worker,
    api_keys: dict[str, str],
    demo: httpx.Client,
    engine: Engine,
) -> None:
    slack, _ = fake_slack
    demo.post("/admin/faults", json={"error_rate": 0.4})
    async with httpx.AsyncClient(base_url=slack_api, timeout=30) as api:
        await link(api, api_keys["admin"], OPERATOR_SLACK_ID, "operator-user")
        opened = await api.post(
            "/api/v1/incidents",
            json=body(signal="errors-slack-button", playbook="error_burst", summary=INJECTION),
            headers={"X-API-Key": api_keys["engineer"]},
        )
        ident = opened.json()["id"]
        approval_id = f"{ident}.1"
        post = await wait_until(lambda: posted_for(slack, ident))
        assert post.args["channel"] == "#demo-ops"  # the service's channel wins over the default
        shown = all_text(post.args["blocks"])
        assert "demo.restart" in shown and "critical" in shown and "operator" in shown
        assert '"service": "demo"' in shown  # the parameters
        # Stored text is escaped: no mention, no link, no ping reaches Slack.
        assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown
        assert "&lt;https://evil.example|click&gt; &amp;" in shown
        buttons = post.args["blocks"][-1]["elements"]
        assert [b["action_id"] for b in buttons] == [APPROVE_ACTION, REJECT_ACTION]
        assert all(b["value"] == approval_id and b["confirm"]["title"] for b in buttons)

        press = button_press(OPERATOR_SLACK_ID, APPROVE_ACTION, approval_id, "CDEMO-OPS")
        headers = signed_headers(press)
        started = time.monotonic()
        answered = await api.post("/slack/interactions", content=press, headers=headers)
        assert answered.status_code == 200 and time.monotonic() - started < 3.0

        def decided_update() -> Any:
            return next(
                (
                    c
                    for c in slack.calls_to("chat.update")
                    if c.args["ts"] == post.answer["ts"]
                    and "Approved" in all_text(c.args["blocks"])
                ),
                None,
            )

        update = await wait_until(decided_update)
        final = all_text(update.args["blocks"])
        assert "operator-user" in final and "UTC" in final
        assert not any(block["type"] == "actions" for block in update.args["blocks"])
        assert update.args["channel"] == "CDEMO-OPS"  # the id Slack answered the post with
        found = await wait_status(api, ident, api_keys["auditor"], {"resolved", "failed"})
        assert found["status"] == "resolved"
        vote = found["approvals"][0]["votes"][0]
        assert (vote["principal"], vote["decision"], vote["comment"]) == (
            "operator-user",
            "approve",
            "via Slack",
        )
        ephemeral = await wait_until(lambda: slack.calls_to("chat.postEphemeral"))
        assert ephemeral[0].args["user"] == OPERATOR_SLACK_ID

        # The same signed request again is a replay: refused, and nothing more is counted.
        replayed = await api.post("/slack/interactions", content=press, headers=headers)
        assert replayed.status_code == 401
    with Session(engine) as session:
        reasons = session.exec(
            select(RefusalCount.reason).where(RefusalCount.route == "/slack/interactions")
        ).all()
    assert "Slack request refused: replayed request (signature already used)" in reasons


async def test_forged_tampered_and_stale_slack_requests_change_nothing(
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
        approval_id, incident_id = approval.id, incident.id
    async with httpx.AsyncClient(base_url=slack_api, timeout=10) as api:
        await link(api, api_keys["admin"], OPERATOR_SLACK_ID, "operator-user")
        await wait_until(lambda: posted_for(slack, incident_id))
        press = button_press(OPERATOR_SLACK_ID, APPROVE_ACTION, approval_id, "CAPPROVALS")
        tampered = press.replace(b"UOPERATOR1", b"UOPERATOR2")
        attempts = {
            "unsigned": await api.post("/slack/interactions", content=press),
            "forged": await api.post(
                "/slack/interactions",
                content=press,
                headers=signed_headers(press, secret="not-the-signing-secret"),
            ),
            "tampered": await api.post(
                "/slack/interactions", content=tampered, headers=signed_headers(press)
            ),
            "stale": await api.post(
                "/slack/interactions",
                content=press,
                headers=signed_headers(press, timestamp=int(time.time()) - 301),
            ),
            "garbage timestamp": await api.post(
                "/slack/interactions",
                content=press,
                headers={**signed_headers(press), "X-Slack-Request-Timestamp": "soon"},
            ),
            "an admin key instead": await api.post(
                "/slack/interactions", content=press, headers={"X-API-Key": api_keys["admin"]}
            ),
            "forged command": await api.post(
                "/slack/commands",
                content=slash_command(OPERATOR_SLACK_ID, f"approve {approval_id}"),
                headers=signed_headers(b"something else"),
            ),
        }
        for name, answer in attempts.items():
            assert answer.status_code == 401, name
            assert answer.json()["detail"] == "the request's Slack signature could not be verified"
        listed = await api.get(
            "/api/v1/refusals", params={"status": 401}, headers={"X-API-Key": api_keys["auditor"]}
        )
    with Session(engine) as session:
        stored = session.get(Approval, approval_id)
        assert stored is not None and stored.status == "pending"
        assert session.exec(select(ApprovalVote)).all() == []
        assert session.exec(select(RefusedApproval)).all() == []
    # Counted per route and reason (the same refusal twice is one row counted twice).
    counted = {(r["route"], r["reason"]): r["count"] for r in listed.json()}
    refused = "Slack request refused: "
    assert counted == {
        ("/slack/interactions", refused + "missing or malformed Slack signature headers"): 3,
        ("/slack/interactions", refused + "signature does not match the body"): 2,
        ("/slack/interactions", refused + "timestamp outside the 5-minute window"): 1,
        ("/slack/commands", refused + "signature does not match the body"): 1,
    }
    assert slack.calls_to("chat.postEphemeral") == [] and slack.calls_to("chat.update") == []
