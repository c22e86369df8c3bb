"""The policy gate and approval authorization, run as local activities."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import names
from activities.actuators.registry import (
    Actuator,
    ActuatorContext,
    InvalidParametersError,
    UnknownNameError,
    get_actuator,
    parse_params,
)
from activities.policy.engine import PolicyEngine, PolicyError, gate_input_to_dict
from activities.policy.facts import FactsGatherer, service_fact
from activities.policy.sandbox import PolicyLimitError
from activities.policy.signing import DecisionSigner, params_sha256
from activities.policy.what_if import AppliedObjectsEngine, WhatIfEngine, WhatIfEngines
from activities.records.writer import RecordWriter
from activities.types import Authorization, AuthorizeRequest, GateInput, GateRequest, GateResult
from api.core.settings import Settings

log = logging.getLogger(__name__)

# The gate runs as a local activity with a 10 s timeout: reading the target's facts and
# previewing the change get a part of it each.
PREVIEW_SECONDS = 3.0


class GateActivities:
    """Evaluates every actuator call against the policy bundle and signs what it allows."""

    def __init__(
        self,
        engine: PolicyEngine,
        signer: DecisionSigner,
        settings: Settings,
        gather_facts: FactsGatherer,
        what_if: WhatIfEngines | None = None,
        records: RecordWriter | None = None,
        *,
        actuator_context: Callable[[], ActuatorContext] | None = None,
    ) -> None:
        self._engine = engine
        # For previews of what an action would change (Actuator.diff); none without it.
        self._actuator_context = actuator_context
        self._what_if = what_if
        self._records = records
        self._signer = signer
        self._settings = settings
        self._gather_facts = gather_facts
        # The newest reload request this worker has acted on (see activities.policy.runtime).
        self._reload_seen = 0

    def _authorization(
        self,
        req: GateRequest | AuthorizeRequest,
        params: dict[str, Any],
        bundle: str,
        by: list[str],
    ) -> Authorization:
        return self._signer.sign(
            Authorization(
                workflow_id=req.workflow_id,
                step=req.step,
                actuator=req.actuator,
                params_sha256=params_sha256(params),
                bundle_sha256=bundle,
                approved_by=by,
            )
        )

    async def _follow_reloads(self, generation: int) -> None:
        """Reload the engine once for each newer reload request an admin recorded."""
        if generation <= self._reload_seen:
            return
        self._reload_seen = generation
        try:
            sha = await asyncio.to_thread(self._engine.reload)
        except PolicyError as exc:
            # The request was checked when it was made; a bundle that fails here (files
            # changed since) is refused and the running one keeps deciding.
            log.error(
                "policy reload %d refused, keeping %s: %s",
                generation,
                self._engine.bundle_sha256,
                exc,
            )
            return
        log.info("policy reload %d: bundle %s", generation, sha)

    async def _policy_for(
        self, req: GateRequest
    ) -> PolicyEngine | WhatIfEngine | AppliedObjectsEngine:
        """The running bundle; in simulate mode, the what-if bundle the request names.

        A what-if bundle decides in a sandbox process with memory and time limits.

        Raises:
            ApplicationError: non-retryable, when the what-if bundle is unknown, broken or
                over a limit (type ``PolicyLimit`` for the memory and time limits).
        """
        if req.what_if_bundle is None or req.mode != "simulate":
            return self._engine
        if self._what_if is None:
            raise ApplicationError(
                "this worker cannot decide with what-if bundles", type="WhatIf", non_retryable=True
            )
        try:
            # Loading starts a process and compiles: off the worker's event loop.
            return await asyncio.to_thread(self._what_if.get, req.what_if_bundle)
        except PolicyLimitError as exc:
            raise ApplicationError(str(exc), type="PolicyLimit", non_retryable=True) from exc
        except PolicyError as exc:
            raise ApplicationError(str(exc), type="WhatIf", non_retryable=True) from exc

    @activity.defn(name=names.POLICY_GATE)
    async def gate(self, req: GateRequest) -> GateResult:
        """Validate the call, gather facts, evaluate policy, and sign when it allows.

        Raises:
            ApplicationError: non-retryable, for an unknown actuator or invalid parameters.
        """
        if req.incident_record is not None and self._records is not None:
            # First, even when the call is refused below: the workflow's later records need
            # the incident's row. Idempotent: a retried gate finds what it wrote.
            await asyncio.to_thread(self._records.incident, req.incident_record)
        try:
            actuator = get_actuator(req.actuator)
            params = parse_params(actuator.params_model, req.params, req.actuator)
        except (UnknownNameError, InvalidParametersError) as exc:
            kind = "UnknownName" if isinstance(exc, UnknownNameError) else "InvalidParameters"
            raise ApplicationError(str(exc), type=kind, non_retryable=True) from exc
        clean = params.model_dump(mode="json")
        target = actuator.target(self._settings, params)
        # The database reads block; a thread keeps them off the worker's event loop.
        facts = await asyncio.to_thread(
            self._gather_facts, req.actuator, req.incident.service, target
        )
        await self._follow_reloads(facts.reload_generation)
        # The catalog, not data.json, says the target's environment and owners when it can;
        # the actuator says what is really there (Actuator.observe), when it can tell.
        stats = {
            **facts.stats,
            "service": service_fact(self._settings, target),
            "target": await self._observe(actuator, params),
        }
        gate_input = GateInput(
            action=req.actuator,
            target=target,
            tier=actuator.tier,
            parameters=clean,
            incident=req.incident,
            requester=req.requester,
            mode=req.mode,
            stats=stats,
            time=req.time,
            workflow_id=req.workflow_id,
            step=req.step,
        )
        decision = await (await self._policy_for(req)).decide(gate_input)
        diff = None
        if decision.outcome == "approval_required" or req.mode == "simulate":
            diff = await self._preview(actuator, params)
        authorization = None
        if decision.outcome == "allow" and req.mode == "apply":
            authorization = self._authorization(req, clean, decision.bundle_sha256, [])
        return GateResult(
            decision=decision,
            gate_input=gate_input_to_dict(gate_input),
            tier=actuator.tier,
            reversible=not actuator.irreversible,
            params=clean,
            authorization=authorization,
            has_snapshot=type(actuator).snapshot is not Actuator.snapshot,
            diff=diff,
        )

    async def _observe(self, actuator: Actuator[Any], params: BaseModel) -> dict[str, Any] | None:
        """The target's facts for the policy (``Actuator.observe``), or why they are missing.

        A failure is ``{"error": ...}``: the policy denies a call whose target it cannot see
        rather than decide on the parameters' word.
        """
        read = await self._read_target(actuator, "observe", params)
        if read is None:
            return None
        facts, error = read
        if error is not None:
            return {"error": f"the target's facts could not be read: {error}"}
        return cast("dict[str, Any] | None", facts)

    async def _preview(self, actuator: Actuator[Any], params: BaseModel) -> dict[str, Any] | None:
        """What the call would change (``{"changes": [...]}``), for the people who approve it.

        None when the actuator cannot tell. A preview that fails or is slow says so instead
        of holding up the decision: approvers then see that there is no diff, and why.
        """
        read = await self._read_target(actuator, "diff", params)
        if read is None:
            return None
        changes, error = read
        if error is not None:
            return {"changes": [], "error": f"the change could not be previewed: {error}"}
        return None if changes is None else {"changes": changes}

    async def _read_target(
        self, actuator: Actuator[Any], method: str, params: BaseModel
    ) -> tuple[Any, str | None] | None:
        """Call ``actuator.<method>`` (a read of the target) within :data:`PREVIEW_SECONDS`.

        Returns:
            None when the actuator does not implement it (or this gate reaches no targets);
            otherwise its answer and None, or None and why it failed. A failure is never
            raised: the decision goes on, told of it.
        """
        if self._actuator_context is None:
            return None
        if getattr(type(actuator), method) is getattr(Actuator, method):
            return None
        try:
            call = getattr(actuator, method)(self._actuator_context(), params)
            return await asyncio.wait_for(call, PREVIEW_SECONDS), None
        except Exception as exc:  # reported to the policy or the approvers, never raised
            return None, str(exc) or type(exc).__name__

    @activity.defn(name=names.POLICY_AUTHORIZE)
    async def authorize(self, req: AuthorizeRequest) -> Authorization:
        """Sign an authorization once the votes satisfy the decision's approval requirement.

        Only approvals from principals the requirement admits count: one of a stage's roles,
        a member of that stage's principals when it names them, never an excluded principal,
        each principal once. A decision re-made at dispatch that allows the call outright is
        signed too, naming everyone who approved it.

        Raises:
            ApplicationError: non-retryable, when the votes do not satisfy the requirement.
        """
        allowed = req.decision.outcome == "allow"
        requirement = req.decision.approval
        stages = requirement.stages() if requirement is not None else []
        approvers: list[str] = []
        for vote in req.votes:
            if vote.decision != "approve" or vote.principal in approvers:
                continue
            if allowed or (
                requirement is not None
                and requirement.admits_approval(vote.principal, vote.roles, stages)
            ):
                approvers.append(vote.principal)
        if not allowed and (requirement is None or len(approvers) < requirement.quorum):
            raise ApplicationError(
                "the approvals do not satisfy the policy's requirement",
                type="Unauthorized",
                non_retryable=True,
            )
        return self._authorization(req, req.params, req.decision.bundle_sha256, approvers)
