"""How the CLI shows an approval's diff: in the approval queue and in the incident's timeline."""

from __future__ import annotations

from io import StringIO
from typing import Any

from rich.console import Console

from api.cli.render import approvals_table, timeline
from api.schemas.incidents import change_lines

AT = "2026-12-03T10:00:00+00:00"


def approval(**changes: Any) -> dict[str, Any]:
    return {
        "id": "inc-1.1",
        "actuator": "demo.scale",
        "tier": "warn",
        "quorum": 1,
        "roles": ["operator"],
        "reasons": ["warn tier in production"],
        "votes": [],
        "requested_at": AT,
        "expires_at": AT,
        "decided_at": None,
        **changes,
    }


def shown(renderable: Any) -> str:
    out = StringIO()
    Console(file=out, width=200).print(renderable)
    return out.getvalue()


def test_the_queue_and_the_timeline_show_before_and_after() -> None:
    diff = {"changes": [{"path": "spec.replicas", "before": 3, "after": 8}]}
    assert "spec.replicas: 3 -> 8" in shown(approvals_table([approval(diff=diff)], "pending"))
    incident = {
        "created_at": AT,
        "updated_at": AT,
        "opened_by": "ann",
        "steps": [],
        "approvals": [approval(diff=diff)],
        "outcome": None,
    }
    [_, requested] = timeline(incident)
    assert "will change spec.replicas: 3 -> 8" in requested["detail"]


def test_lines_for_strings_unset_values_no_change_and_a_failed_preview() -> None:
    changes = [
        {"path": "flags.dark", "before": None, "after": True},
        {"path": "image", "before": "app:1", "after": "app:2"},
    ]
    assert change_lines({"changes": changes}) == [
        "flags.dark: (unset) -> true",
        "image: 'app:1' -> 'app:2'",
    ]
    assert change_lines({"changes": []}) == ["no change: the target is already in that state"]
    assert change_lines({"changes": [], "error": "timed out"}) == ["timed out"]
    assert change_lines(None) == []
