"""The Slack outbox on its own: posting, redrawing, timeouts, escalation, failures and retries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from api.core.settings import Settings
from api.models import Approval, ApprovalVote, utcnow
from api.models.access import SlackMessage
from api.slack.blocks import approval_message, escape
from api.slack.notifier import SlackNotifier, make_web_client
from bench.harness.servers import serve_app
from tests.support.db import new_approval, new_incident
from tests.support.fake_slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack, all_text


@pytest.fixture
def slack() -> Iterator[tuple[FakeSlack, str]]:
    fake = FakeSlack()
    with serve_app(fake.app()) as url:
        yield fake, f"{url}/api/"


def notifier_for(engine: Engine, web_api: str, **changes: object) -> SlackNotifier:
    values: dict[str, object] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": web_api,
        "slack_channel": "#approvals",
        "slack_tier_channels": {"critical": "#critical"},
        "slack_escalation_channel": "#escalations",
        "slack_escalate_after_seconds": 60,
        **changes,
    }
    settings = Settings.model_validate(values)
    return SlackNotifier(settings, engine, make_web_client(settings))


def add_pending(engine: Engine, **approval_changes: object) -> str:
    with Session(engine) as session:
        incident = new_incident(service="billing", summary="card declines")
        approval = new_approval(incident, **approval_changes)
        session.add(incident)
        session.add(approval)
        session.commit()
        return approval.id


def test_posts_once_redraws_when_decided_and_escalates_timeouts(
    engine: Engine, slack: tuple[FakeSlack, str]
) -> None:
    fake, web_api = slack
    approval_id = add_pending(engine)
    notifier = notifier_for(engine, web_api)

    notifier.sync_once()
    notifier.sync_once()  # nothing new: no second post
    posts = fake.calls_to("chat.postMessage")
    assert len(posts) == 1 and posts[0].args["channel"] == "#critical"  # by tier: no service rule
    assert "card declines" in all_text(posts[0].args["blocks"])
    with Session(engine) as session:
        message = session.get(SlackMessage, approval_id)
        assert message is not None and message.channel == "CCRITICAL" and message.ts

        approval = session.get(Approval, approval_id)
        assert approval is not None
        approval.status, approval.decided_at = "timeout", utcnow()
        approval.decided_reason = "timeout"
        session.add(approval)
        session.commit()

    notifier.sync_once()
    notifier.sync_once()  # shown already: nothing more
    updates = fake.calls_to("chat.update")
    assert len(updates) == 1
    assert "Timed out" in all_text(updates[0].args["blocks"])
    assert not any(b["type"] == "actions" for b in updates[0].args["blocks"])
    escalations = [
        c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == "#escalations"
    ]
    assert len(escalations) == 1
    assert "timed out without a decision" in escalations[0].args["text"]
    assert "<#CCRITICAL>" in escalations[0].args["text"]


def test_long_waits_escalate_once(engine: Engine, slack: tuple[FakeSlack, str]) -> None:
    fake, web_api = slack
    add_pending(engine, requested_at=utcnow() - timedelta(minutes=5), tier="warn")
    notifier = notifier_for(engine, web_api)
    notifier.sync_once()
    notifier.sync_once()
    channels = [c.args["channel"] for c in fake.calls_to("chat.postMessage")]
    assert channels == ["#approvals", "#escalations"]
    assert "has waited more than 1 min" in fake.calls_to("chat.postMessage")[1].args["text"]


def test_slack_failures_are_recorded_and_retried(
    engine: Engine, slack: tuple[FakeSlack, str]
) -> None:
    fake, web_api = slack
    approval_id = add_pending(engine)
    notifier = notifier_for(engine, web_api)
    fake.failing_methods.add("chat.postMessage")
    notifier.sync_once()
    with Session(engine) as session:
        message = session.get(SlackMessage, approval_id)
        assert message is not None and message.ts is None
        assert message.error is not None and "fatal_error" in message.error
    fake.failing_methods.clear()
    notifier.sync_once()
    with Session(engine) as session:
        message = session.get(SlackMessage, approval_id)
        assert message is not None and message.ts is not None and message.error is None


def test_a_wrong_token_is_an_error_not_a_crash(
    engine: Engine, slack: tuple[FakeSlack, str]
) -> None:
    _, web_api = slack
    approval_id = add_pending(engine)
    notifier = notifier_for(engine, web_api, slack_bot_token="xoxb-wrong")
    notifier.sync_once()
    with Session(engine) as session:
        message = session.get(SlackMessage, approval_id)
        assert message is not None and "invalid_auth" in (message.error or "")


def test_an_unroutable_approval_is_left_alone(engine: Engine, slack: tuple[FakeSlack, str]) -> None:
    fake, web_api = slack
    add_pending(engine, tier="warn")
    notifier_for(engine, web_api, slack_channel=None).sync_once()
    assert fake.calls == []


def test_message_text_is_escaped_and_capped() -> None:
    incident = new_incident(summary="<@U123> & <!here> " + "x" * 5000)
    approval = new_approval(
        incident, reasons=["<script>alert(1)</script>"], params={"note": "<!channel>"}
    )
    vote = ApprovalVote(
        approval_id=approval.id,
        principal="alice",
        roles=["operator"],
        decision="reject",
        comment="<!everyone>",
        created_at=utcnow(),
    )
    _, pending = approval_message(approval, incident, [vote])
    shown = all_text(pending)
    assert "<@U123>" not in shown and "<!here>" not in shown and "<!channel>" not in shown
    assert "&lt;script&gt;" in shown and "alice rejected at" in shown
    assert all(len(block["text"]["text"]) <= 2800 for block in pending if "text" in block)
    approval.status, approval.decided_at, approval.decided_reason = "rejected", utcnow(), "no"
    _, decided = approval_message(approval, incident, [vote])
    assert "Rejected" in all_text(decided) and "&lt;!everyone&gt;" in all_text(decided)
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_the_message_shows_what_will_change() -> None:
    incident = new_incident()
    diff = {"changes": [{"path": "replicas", "before": 2, "after": 8}]}
    _, blocks = approval_message(new_approval(incident, diff=diff), incident, [])
    assert "*Will change:*\n```replicas: 2 -&gt; 8```" in all_text(blocks)
    failed = {"changes": [], "error": "the change could not be previewed: <timeout>"}
    _, blocks = approval_message(new_approval(incident, diff=failed), incident, [])
    assert "could not be previewed: &lt;timeout&gt;" in all_text(blocks)
    _, blocks = approval_message(new_approval(incident), incident, [])
    assert "Will change" not in all_text(blocks)
