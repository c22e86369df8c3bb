"""Histories recorded by an earlier build still replay on this one.

``tests/data/histories/error_burst_approved_be74ff8.json`` is an approved ``error_burst`` run
recorded at commit be74ff8, before approvals were decided again at dispatch: its approved
restart is signed straight from the first decision.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from api.services.audit.replay import replay_one

pytestmark = pytest.mark.asyncio(loop_scope="session")

HISTORIES = Path(__file__).parents[3] / "data" / "histories"


def local_activities(raw: dict[str, object]) -> list[str]:
    """The local activity of every marker, in history order."""
    names = []
    for event in raw["events"]:  # type: ignore[attr-defined]
        marker = event.get("markerRecordedEventAttributes")
        if marker and marker.get("markerName") == "core_local_activity":
            data = marker["details"]["data"]["payloads"][0]["data"]
            names.append(json.loads(_decode(data))["activity_type"])
    return names


def _decode(data: str) -> str:
    import base64

    return base64.b64decode(data).decode()


async def test_an_approval_signed_before_redecisions_existed_still_replays() -> None:
    path = HISTORIES / "error_burst_approved_be74ff8.json"
    raw = json.loads(path.read_text())
    # The old shape: after the approval, steward.authorize directly, no second gate.
    names = local_activities(raw)
    approved = names.index("steward.authorize")
    assert names[:approved].count("steward.gate") == 1
    history = WorkflowHistory.from_json("inc-test-247225cb1505", raw)
    outcome = await replay_one(history)
    assert outcome.compatible, (outcome.error, outcome.first_mismatch)
