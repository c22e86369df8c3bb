"""Scripted policy decisions: allow, ask for approval, or deny chosen actuators.

The gate runs as in production (parameter schema, tier, facts, signing, records); only the
decision for a scripted actuator comes from the test instead of the Rego bundle. Actuators
the test does not script are decided by the shipped policy, so a test can also check what
the real policy does with a playbook.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from activities.policy.engine import (
    EmbeddedPolicyEngine,
    PolicyBundle,
    PolicyEngine,
    input_sha256,
)
from activities.policy.types import ApprovalRequirement, Decision, GateInput

__all__ = ["Allow", "Deny", "NeedsApproval", "ScriptedDecision", "ScriptedPolicy"]

SCRIPTED_RULE = "steward.testing.scripted"


@dataclass(frozen=True, kw_only=True)
class Allow:
    """The policy allows the action."""

    def decision(self, bundle_sha256: str, input_sha256: str) -> Decision:
        """The decision this script stands for."""
        return Decision(
            outcome="allow",
            reasons=[],
            bundle_sha256=bundle_sha256,
            input_sha256=input_sha256,
            rules=[SCRIPTED_RULE],
        )


@dataclass(frozen=True, kw_only=True)
class NeedsApproval:
    """The policy asks for approval.

    Attributes:
        quorum: Distinct approvals needed.
        roles: An approver needs one of these roles.
        timeout_seconds: How long the request waits before it times out (as a rejection).
        excluded: Principals who may never approve (the real policy excludes the opener).
        reason: Why approval is needed, as the operator reads it.
    """

    quorum: int = 1
    roles: Sequence[str] = ("operator",)
    timeout_seconds: int = 3600
    excluded: Sequence[str] = ()
    reason: str = "scripted: approval required"

    def decision(self, bundle_sha256: str, input_sha256: str) -> Decision:
        """The decision this script stands for."""
        return Decision(
            outcome="approval_required",
            reasons=[self.reason],
            bundle_sha256=bundle_sha256,
            input_sha256=input_sha256,
            approval=ApprovalRequirement(
                quorum=self.quorum,
                roles=list(self.roles),
                timeout_seconds=self.timeout_seconds,
                excluded_principals=list(self.excluded),
            ),
            rules=[SCRIPTED_RULE],
        )


@dataclass(frozen=True, kw_only=True)
class Deny:
    """The policy denies the action.

    Attributes:
        reason: The deny reason, as the outcome reports it.
    """

    reason: str = "scripted: denied"

    def decision(self, bundle_sha256: str, input_sha256: str) -> Decision:
        """The decision this script stands for."""
        return Decision(
            outcome="deny",
            reasons=[self.reason],
            bundle_sha256=bundle_sha256,
            input_sha256=input_sha256,
            rules=[SCRIPTED_RULE],
        )


ScriptedDecision = Allow | NeedsApproval | Deny


@dataclass
class ScriptedPolicy(PolicyEngine):
    """A policy engine that answers scripted actuators itself and the rest with the real policy.

    Attributes:
        real: The engine for actuators without a script (the shipped Rego bundle).
        script: The decision for each scripted actuator, by actuator name.
    """

    real: EmbeddedPolicyEngine
    script: dict[str, ScriptedDecision] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Decisions name the real bundle, so the ledger archives real sources for them.
        self._history = self.real._history

    @property
    def bundle(self) -> PolicyBundle:
        """The real engine's bundle."""
        return self.real.bundle

    async def decide(self, gate_input: GateInput) -> Decision:
        """The scripted decision for a scripted actuator, the real policy's otherwise."""
        scripted = self.script.get(gate_input.action)
        if scripted is None:
            return await self.real.decide(gate_input)
        return scripted.decision(self.real.bundle_sha256, input_sha256(gate_input))

    def reload(self) -> str:
        """Reload the real policy."""
        return self.real.reload()

    async def aclose(self) -> None:
        """Close the real engine."""
        await self.real.aclose()
