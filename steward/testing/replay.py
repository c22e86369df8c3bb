"""Replay checks: does the playbook's code still reproduce a history it recorded?

A playbook changed without ``workflow.patched`` can make a run that started under the old code
fail when a worker with the new code picks it up. Save a history of each playbook path once
(:meth:`PlaybookResult.save_history`), commit it, and check it in the playbook's tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from temporalio.client import WorkflowHistory

from api.services.audit.replay import ReplayOutcome, known_workflows, replay_one
from steward.testing.environment import workflow_type

__all__ = ["ReplayMismatchError", "assert_replays"]


class ReplayMismatchError(AssertionError):
    """The playbook's code no longer reproduces the history."""


def load_history(history: str | Path | WorkflowHistory) -> WorkflowHistory:
    """A history as it is, or read from a JSON file (named after its workflow, or not)."""
    if isinstance(history, WorkflowHistory):
        return history
    path = Path(history)
    return WorkflowHistory.from_json(path.stem, path.read_text())


async def assert_replays(
    history: str | Path | WorkflowHistory, *, playbooks: Sequence[type] = ()
) -> ReplayOutcome:
    """Replay ``history`` against the installed playbooks and ``playbooks``; fail on a mismatch.

    Args:
        history: A history saved by :meth:`PlaybookResult.save_history` (a path), or one
            fetched from Temporal.
        playbooks: Playbook classes that are not installed through an entry point.

    Returns:
        The replay's outcome (``compatible`` is True).

    Raises:
        ReplayMismatchError: The code no longer reproduces the history; the message names
            the error and the first event that differed.
    """
    known = {**known_workflows(), **{workflow_type(cls): cls for cls in playbooks}}
    outcome = await replay_one(load_history(history), known)
    if not outcome.compatible:
        raise ReplayMismatchError(
            f"{outcome.workflow_type} no longer replays {outcome.workflow_id}: {outcome.error}"
            + (f" (first mismatch: {outcome.first_mismatch})" if outcome.first_mismatch else "")
        )
    return outcome
