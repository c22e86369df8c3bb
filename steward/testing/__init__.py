"""``steward.testing``: test a playbook the way Steward will run it.

A public, stable API (``docs/testing.md``). Everything exported here keeps its name and
meaning across minor releases; anything else under ``steward.testing`` is internal.

- :class:`PlaybookHarness` runs a playbook on a real Steward worker in Temporal's
  time-skipping test server, with its own SQLite database and signed ledger.
- :class:`FakeActuator` and :class:`FakeCheck` (made by the harness) stand in for actuators
  and checks, keep their real names, tiers and schemas, and record every call.
- :class:`Allow`, :class:`NeedsApproval` and :class:`Deny` script the policy's decisions;
  :class:`Approve`, :class:`Reject` and :class:`TimeOut` script the operators.
- :class:`PlaybookResult` holds the outcome, the compensations, the step and approval rows
  and the ledger entries; :func:`assert_replays` checks a saved history still replays.

Needs the ``testing`` extra (``pip install 'steward[testing]'``) for Temporal's test server.
"""

from steward.testing.approvals import Approve, RefusedVote, Reject, ScriptError, TimeOut
from steward.testing.environment import TestServerMissingError
from steward.testing.fakes import FakeActuator, FakeCall, FakeCheck
from steward.testing.harness import PlaybookHarness
from steward.testing.policy import Allow, Deny, NeedsApproval
from steward.testing.replay import ReplayMismatchError, assert_replays
from steward.testing.result import LedgerRecord, PlaybookResult

__all__ = [
    "Allow",
    "Approve",
    "Deny",
    "FakeActuator",
    "FakeCall",
    "FakeCheck",
    "LedgerRecord",
    "NeedsApproval",
    "PlaybookHarness",
    "PlaybookResult",
    "Reject",
    "RefusedVote",
    "ReplayMismatchError",
    "ScriptError",
    "TestServerMissingError",
    "TimeOut",
    "assert_replays",
]
