"""The policy gate and approval authorization, run as local activities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.actuators.registry import (
    Actuator,
    InvalidParametersError,
    UnknownNameError,
    get_actuator,
    parse_params,
)
from activities.policy.engine import PolicyEngine
from activities.policy.signing import DecisionSigner, params_sha256
from activities.types import Authorization, AuthorizeRequest, GateInput, GateRequest, GateResult
from api.core.settings import Settings

StatsGatherer = Callable[[str, str], dict[str, Any]]


class GateActivities:
    """Evaluates every actuator call against the policy bundle and signs what it allows."""

    def __init__(
        self,
        engine: PolicyEngine,
        signer: DecisionSigner,
        settings: Settings,
        gather_stats: StatsGatherer,
    ) -> None:
        self._engine = engine
        self._signer = signer
        self._settings = settings
        self._gather_stats = gather_stats

    def _authorization(
        self,
        req: GateRequest | AuthorizeRequest,
        params: dict[str, Any],
        bundle: str,
        by: list[str],
    ) -> Authorization:
        return self._signer.sign(
            Authorization(
                req.workflow_id, req.step, req.actuator, params_sha256(params), bundle, by
            )
        )

    @activity.defn(name="steward.gate")
    async def gate(self, req: GateRequest) -> GateResult:
        """Validate the call, evaluate policy, and sign an authorization when allowed.

        Raises:
            ApplicationError: non-retryable, for an unknown actuator or invalid parameters.
        """
        try:
            actuator = get_actuator(req.actuator)
            params = parse_params(actuator.params_model, req.params, req.actuator)
        except (UnknownNameError, InvalidParametersError) as exc:
            kind = "UnknownName" if isinstance(exc, UnknownNameError) else "InvalidParameters"
            raise ApplicationError(str(exc), type=kind, non_retryable=True) from exc
        clean = params.model_dump(mode="json")
        target = actuator.target(self._settings, params)
        gate_input = GateInput(
            action=req.actuator,
            target=target,
            tier=actuator.tier,
            parameters=clean,
            incident=req.incident,
            requester=req.requester,
            mode=req.mode,
            stats=self._gather_stats(req.actuator, target),
            time=req.time,
            workflow_id=req.workflow_id,
            step=req.step,
        )
        decision = self._engine.evaluate(gate_input)
        authorization = None
        if decision.outcome == "allow" and req.mode == "apply":
            authorization = self._authorization(req, clean, decision.bundle_sha256, [])
        return GateResult(
            decision,
            gate_input,
            actuator.tier,
            not actuator.irreversible,
            clean,
            authorization,
            has_snapshot=type(actuator).snapshot is not Actuator.snapshot,
        )

    @activity.defn(name="steward.authorize")
    async def authorize(self, req: AuthorizeRequest) -> Authorization:
        """Sign an authorization once the votes satisfy the decision's approval requirement.

        Raises:
            ApplicationError: non-retryable, when the votes do not satisfy the requirement.
        """
        requirement = req.decision.approval
        eligible = set(requirement.roles) if requirement else set()
        approvers = [
            v.principal for v in req.votes if v.decision == "approve" and eligible & set(v.roles)
        ]
        if requirement is None or len(set(approvers)) < requirement.quorum:
            raise ApplicationError(
                "the approvals do not satisfy the policy's requirement",
                type="Unauthorized",
                non_retryable=True,
            )
        return self._authorization(req, req.params, req.decision.bundle_sha256, approvers)
