"""The policy's runtime state for the front doors: read it, change it, reload the bundle.

The state itself (kill switch, freezes, the change record) is kept by
``activities.policy.runtime``, the same library the gate's facts gatherer reads, so the API and
every worker see one record. This module is the API's one way in.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

if TYPE_CHECKING:
    from activities.policy.check import CheckReport

from activities.policy.bundle import bundle_sha256, policy_files
from activities.policy.runtime import (
    FreezeNotFoundError,
    FreezeSpec,
    active_freezes,
    add_freeze,
    kill_switch_fact,
    recent_changes,
    reload_generation,
    remove_freeze,
    set_kill_switch,
)
from api.models import PolicyChange, PolicyFreeze, utcnow

__all__ = [
    "FreezeNotFoundError",
    "FreezeSpec",
    "PolicyState",
    "add_freeze",
    "directory_sha256",
    "policy_state",
    "reload_policy",
    "remove_freeze",
    "set_kill_switch",
]


@dataclass(frozen=True, kw_only=True)
class PolicyState:
    """What the policy's runtime state is now."""

    bundle_sha256: str
    reload_generation: int
    kill_switch: dict[str, Any] | None
    freezes: list[PolicyFreeze]
    changes: list[PolicyChange]


def directory_sha256(directory: Path) -> str:
    """Return the bundle hash of the policy files in ``directory`` (of nothing, if unreadable)."""
    # Hashing the files is cheap; compiling is left to reloads and `steward policy check`.
    try:
        contents = {name: (directory / name).read_bytes() for name in policy_files(directory)}
    except OSError:
        return sha256(b"").hexdigest()
    return bundle_sha256(contents)


def policy_state(session: Session, *, directory: Path, limit: int) -> PolicyState:
    """Read the kill switch, the freezes in force or to come, and the newest ``limit`` changes."""
    return PolicyState(
        bundle_sha256=directory_sha256(directory),
        reload_generation=reload_generation(session),
        kill_switch=kill_switch_fact(session),
        freezes=list(active_freezes(session, utcnow())),
        changes=list(recent_changes(session, limit)),
    )


def reload_policy(
    session: Session, *, directory: Path, principal: str, reason: str
) -> tuple[CheckReport, PolicyChange]:
    """Check ``directory`` in the sandbox and record a reload every worker will follow.

    Returns:
        The check report, and the recorded change (a refusal is recorded too).
    """
    # Imported here: it loads the OPA engine, which only reloads need.
    from activities.policy.check import request_reload

    return request_reload(session, directory, principal, reason)
