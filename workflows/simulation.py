"""The what-if workflow: an incident's recorded decisions under another policy bundle.

It re-decides every gate input the ledger recorded for the incident and, when asked, re-runs
a playbook in simulate mode (actuators plan, nothing applies) on the incident's recorded input,
then compares. Running as a workflow makes every simulation part of the record.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import names
    from activities.ledger.types import (
        PolicyEvaluation,
        PolicyEvaluationResult,
        RecordedGate,
        SimulationRecord,
    )
    from workflows.activity_names import activity_name

from workflows.audit_types import SimulatedDecision, SimulationRequest, SimulationResult
from workflows.types import PlaybookOutcome

SIMULATION_WORKFLOW = "simulation"
# How each change of outcome reads in the side-by-side diff.
CHANGES = {
    ("allow", "deny"): "allowed -> denied",
    ("approval_required", "deny"): "approval -> denied",
    ("allow", "approval_required"): "approval now needed",
    ("approval_required", "allow"): "approval no longer needed",
    ("deny", "allow"): "denied -> allowed",
    ("deny", "approval_required"): "denied -> approval needed",
}


def compare(gate: RecordedGate, decision: dict[str, Any]) -> SimulatedDecision:
    """Put a recorded decision beside the what-if one."""
    recorded, simulated = str(gate.decision.get("outcome")), str(decision.get("outcome"))
    return SimulatedDecision(
        step=gate.step,
        actuator=gate.actuator,
        params=gate.params,
        recorded=recorded,
        simulated=simulated,
        change=CHANGES.get((recorded, simulated), "same" if recorded == simulated else "changed"),
        reasons=list(decision.get("reasons", [])),
        rules=list(decision.get("rules", [])),
    )


def action_lines(gates: list[RecordedGate]) -> list[str]:
    """One line per action a run asked for: actuator and canonical parameters.

    A step re-decided at dispatch has several decisions but asked for one action.
    """
    lines, seen = [], set()
    for g in gates:
        if g.step_kind == "act" and g.step not in seen:
            seen.add(g.step)
            lines.append(f"{g.actuator} {json.dumps(g.params, sort_keys=True)}")
    return lines


@workflow.defn(name=SIMULATION_WORKFLOW)
class PolicySimulation:
    """Re-decides an incident under a what-if bundle; optionally re-plans a playbook."""

    local_timeout = timedelta(seconds=60)

    async def _gates(self, incident_id: str) -> list[RecordedGate]:
        return await workflow.execute_local_activity(
            activity_name(names.LEDGER_READ_GATES),
            incident_id,
            result_type=list[RecordedGate],
            start_to_close_timeout=self.local_timeout,
        )

    async def _evaluate(self, files: dict[str, str], gates: list[RecordedGate]) -> Any:
        return await workflow.execute_local_activity(
            activity_name(names.LEDGER_EVALUATE_POLICY),
            PolicyEvaluation(policy_files=files, gate_inputs=[g.gate_input for g in gates]),
            result_type=PolicyEvaluationResult,
            start_to_close_timeout=self.local_timeout,
        )

    @workflow.run
    async def run(self, request: SimulationRequest) -> SimulationResult:
        """Re-decide, re-plan, compare, and append a summary to the incident's ledger."""
        result = SimulationResult(incident_id=request.incident_id, playbook=request.playbook)
        recorded = await self._gates(request.incident_id)
        result.recorded_bundles = sorted({str(g.decision.get("bundle_sha256")) for g in recorded})
        evaluation: PolicyEvaluationResult = await self._evaluate(request.policy_files, recorded)
        if evaluation.error is not None:
            result.error = evaluation.error
            return result
        result.bundle_sha256 = evaluation.bundle_sha256
        pairs = zip(recorded, evaluation.decisions, strict=True)
        result.decisions = [compare(g, d) for g, d in pairs]
        if request.playbook and request.incident is not None:
            plan_id = f"{workflow.info().workflow_id}-plan"
            await workflow.execute_child_workflow(
                request.playbook,
                # Decided by the what-if bundle, so the plan follows its denials and stops.
                replace(
                    request.incident,
                    mode="simulate",
                    what_if_bundle=evaluation.bundle_sha256,
                ),
                id=plan_id,
                result_type=PlaybookOutcome,
            )
            # Planned in simulate mode; re-decided as if applied, which is the question asked.
            planned = [
                replace(g, gate_input={**g.gate_input, "mode": "apply"})
                for g in await self._gates(plan_id)
            ]
            replanned: PolicyEvaluationResult = await self._evaluate(request.policy_files, planned)
            if replanned.error is not None:
                result.error = replanned.error
                return result
            result.plan = [compare(g, d) for g, d in zip(planned, replanned.decisions, strict=True)]
            diff = difflib.ndiff(action_lines(recorded), action_lines(planned))
            result.action_changes = [line for line in diff if line[:2] in ("- ", "+ ")]
        summary = {
            "bundle_sha256": result.bundle_sha256,
            "playbook": result.playbook,
            "changed": [
                f"step {d.step} {d.actuator}: {d.change}"
                for d in result.decisions
                if d.change != "same"
            ],
            "action_changes": result.action_changes,
        }
        await workflow.execute_local_activity(
            activity_name(names.LEDGER_RECORD_SIMULATION),
            SimulationRecord(
                incident_id=request.incident_id,
                simulation_id=workflow.info().workflow_id,
                summary=summary,
            ),
            start_to_close_timeout=self.local_timeout,
        )
        return result
