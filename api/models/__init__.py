"""Persistence models of the app database (SQLModel tables), by area.

Tables are created only by the alembic migrations under ``api/migrations``; these modules describe
them so that sessions can read and write rows and autogenerate can compare against them.
Importing this package registers every table with the metadata that every migration and test
compares against, and re-exports the tables and their enums.
"""

from api.core.permissions import Role
from api.models.access import RefusalCount, SlackMessage, SlackRequestNonce, SlackUserLink
from api.models.audit import LedgerEntry, PolicyBundleArchive
from api.models.columns import UTCDateTime, utcnow
from api.models.detection import (
    AlertState,
    DeliveryAttemptRow,
    DeliveryReplay,
    Event,
    IncidentEvidence,
    Monitor,
)
from api.models.incidents import (
    Approval,
    ApprovalStatus,
    ApprovalVote,
    Incident,
    IncidentMode,
    IncidentStatus,
    RefusedApproval,
    Step,
    StepKind,
    VoteDecision,
)
from api.models.keys import ApiKey
from api.models.policy import (
    ActionOutcomeFact,
    AppliedActionFact,
    PolicyChange,
    PolicyFreeze,
    PolicySetting,
    SimulationQuotaWindow,
)

__all__ = [
    "ActionOutcomeFact",
    "AlertState",
    "ApiKey",
    "AppliedActionFact",
    "Approval",
    "ApprovalStatus",
    "ApprovalVote",
    "DeliveryAttemptRow",
    "DeliveryReplay",
    "Event",
    "Incident",
    "IncidentEvidence",
    "IncidentMode",
    "IncidentStatus",
    "LedgerEntry",
    "Monitor",
    "PolicyBundleArchive",
    "PolicyChange",
    "PolicyFreeze",
    "PolicySetting",
    "RefusalCount",
    "RefusedApproval",
    "Role",
    "SimulationQuotaWindow",
    "SlackMessage",
    "SlackRequestNonce",
    "SlackUserLink",
    "Step",
    "StepKind",
    "UTCDateTime",
    "VoteDecision",
    "utcnow",
]
