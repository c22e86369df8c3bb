"""What the ``Playbook`` base and its run guard share: how a run stops, and what it applied."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.types import Authorization


def failure_message(err: Exception) -> str:
    """Return the innermost message of an activity failure."""
    cause = err.cause if isinstance(err, ActivityError) and err.cause else err
    return cause.message if isinstance(cause, ApplicationError) else str(cause)


class PlaybookStopped(Exception):
    """Ends a playbook without compensation (a denied or rejected action)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class RemediationFailed(Exception):
    """A verification or an actuator failed: applied actions are compensated."""


@dataclass(kw_only=True)
class AppliedAction:
    """An applied call and everything its undo needs."""

    step: int
    actuator: str
    params: dict[str, Any]
    before: dict[str, Any]
    reversible: bool
    authorization: Authorization | None
