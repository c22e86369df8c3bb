"""Scripted answers to a playbook's approval requests: approve, reject, or let it time out.

Each answer goes to the approval pending when it is its turn, in order. A quorum of two takes
two ``Approve`` answers from two principals. Votes travel the production path: the ``decide``
Update, its eligibility check and its records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from api.models import Approval
from workflows.types import ApprovalDecision

__all__ = ["Approve", "ApprovalAnswer", "Reject", "RefusedVote", "TimeOut"]

# How long the kit waits, in real time, for the next approval request before it gives up.
REQUEST_WITHIN_SECONDS = 60.0
_POLL_SECONDS = 0.05
# Real time for the workflow to act on a timer the kit skipped to.
SETTLE_SECONDS = 2.0
# A time-out skips at most this many hours of test time through escalation stages.
ESCALATION_HOURS = 24


@dataclass(frozen=True, kw_only=True)
class _Vote:
    """One principal's vote.

    Attributes:
        by: The principal.
        roles: The principal's roles.
        comment: The reason given.
    """

    by: str = "approver"
    roles: Sequence[str] = ("operator",)
    comment: str | None = None


@dataclass(frozen=True, kw_only=True)
class Approve(_Vote):
    """One principal approves (``by``, ``roles``, ``comment``)."""


@dataclass(frozen=True, kw_only=True)
class Reject(_Vote):
    """One principal rejects (``by``, ``roles``, ``comment``)."""


@dataclass(frozen=True, kw_only=True)
class TimeOut:
    """Nobody answers: the test's clock moves past the request's expiry (and each escalation)."""


ApprovalAnswer = Approve | Reject | TimeOut


@dataclass(frozen=True, kw_only=True)
class RefusedVote:
    """A scripted vote the workflow refused (an ineligible principal, say).

    Attributes:
        step: The step the vote was for.
        answer: The scripted answer.
        message: Why it was refused.
    """

    step: int
    answer: Approve | Reject
    message: str


class ScriptError(AssertionError):
    """The script and the run disagree: an answer was left over, or no request came."""


@dataclass
class ApprovalDriver:
    """Answers a running playbook's approvals from a script."""

    env: WorkflowEnvironment
    engine: Engine
    handle: WorkflowHandle[Any, Any]
    answers: list[ApprovalAnswer]
    refused: list[RefusedVote] = field(default_factory=list)

    async def run(self) -> None:
        """Give every answer in turn.

        Raises:
            ScriptError: The run ended with answers left, or no request came in time.
        """
        while self.answers:
            step = await self._pending_step()
            if step is None:
                raise ScriptError(
                    f"the playbook finished with {len(self.answers)} scripted approval "
                    f"answer(s) unused: {self.answers}"
                )
            answer = self.answers.pop(0)
            if isinstance(answer, TimeOut):
                await self._expire(step)
            else:
                await self._vote(step, answer)

    async def _pending_step(self) -> int | None:
        """The step of the pending approval, or None once the workflow has closed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REQUEST_WITHIN_SECONDS
        while loop.time() < deadline:
            description = await self.handle.describe()
            if description.close_time is not None:
                return None
            state = await self.handle.query("state")
            if state["pending_approvals"]:
                return int(state["pending_approvals"][0])
            await asyncio.sleep(_POLL_SECONDS)
        raise ScriptError(
            f"no approval was requested within {REQUEST_WITHIN_SECONDS:.0f}s, "
            f"and the playbook is still running"
        )

    async def _vote(self, step: int, answer: Approve | Reject) -> None:
        decision = ApprovalDecision(
            step=step,
            principal=answer.by,
            roles=list(answer.roles),
            decision="approve" if isinstance(answer, Approve) else "reject",
            comment=answer.comment,
        )
        try:
            await self.handle.execute_update("decide", decision, result_type=str)
        except WorkflowUpdateFailedError as err:
            self.refused.append(RefusedVote(step=step, answer=answer, message=str(err.cause)))

    async def _expire(self, step: int) -> None:
        """Move the test clock past the request's expiry until the step is no longer pending.

        The row tells the first stage's expiry; an escalation stage's is not kept there, so the
        clock then moves on an hour at a time (escalation stages wait far less, as a rule).

        Raises:
            ScriptError: The step is still pending after a day of test time.
        """
        for attempt in range(ESCALATION_HOURS):
            if await self._settled(step, within=SETTLE_SECONDS if attempt else 0.0):
                return
            with Session(self.engine) as session:
                row = session.get(Approval, Approval.make_id(self.handle.id, step))
            now = await self.env.get_current_time()
            expires = row.expires_at if row is not None else now
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            wait = expires - now if expires > now else timedelta(hours=1)
            await self.env.sleep(wait + timedelta(seconds=1))
        if not await self._settled(step, within=SETTLE_SECONDS):
            raise ScriptError(f"the approval of step {step} was still pending after a day")

    async def _settled(self, step: int, *, within: float) -> bool:
        """Whether ``step`` stopped waiting, given ``within`` real seconds to act on a timer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            description = await self.handle.describe()
            if description.close_time is not None:
                return True
            state = await self.handle.query("state")
            if step not in state["pending_approvals"]:
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(_POLL_SECONDS)
