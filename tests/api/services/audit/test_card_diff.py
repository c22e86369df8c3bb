"""The decision card keeps the diff the approvers were shown, read back from the ledger."""

from __future__ import annotations

import pytest

from api.cli.audit_render import card_lines
from api.ledger.keys import ledger_verifier
from api.services.audit.card import decision_card
from steward.testing import Approve, NeedsApproval, PlaybookHarness
from workflows.playbooks.high_latency import HighLatency

pytestmark = pytest.mark.slow


async def test_the_card_shows_what_the_approvers_were_shown() -> None:
    async with PlaybookHarness() as harness:
        harness.fake_actuator("demo.scale", before={"replicas": 2})
        harness.fake_check("demo.p95_below")
        harness.script_policy("demo.scale", NeedsApproval())
        result = await harness.run(HighLatency, approvals=[Approve(by="ann")])
        assert harness.engine is not None
        card = decision_card(harness.engine, ledger_verifier(harness.settings), result.workflow_id)
    [approval] = card["approvals"]
    assert approval["diff"] == {"changes": [{"path": "replicas", "before": 2, "after": 8}]}
    assert "      shown to change replicas: 2 -> 8" in card_lines(card)
