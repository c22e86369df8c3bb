"""Inputs and results of the ledger's audit activities, shared with the workflows.

Only dataclasses and stdlib here: workflows import this module inside
``workflow.unsafe.imports_passed_through()``.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(kw_only=True)
class RecordedGate:
    """A gate decision as the ledger recorded it, with the exact input the policy saw."""

    step: int
    step_kind: str
    actuator: str
    params: dict[str, Any]
    gate_input: dict[str, Any]
    decision: dict[str, Any]


@dataclass(kw_only=True)
class PolicyEvaluation:
    """Decide recorded gate inputs under a policy bundle given by its sources."""

    policy_files: dict[str, str]
    gate_inputs: list[dict[str, Any]]


@dataclass(kw_only=True)
class PolicyEvaluationResult:
    """The bundle's hash and one decision (as a dict) per input, or why it could not run."""

    bundle_sha256: str = ""
    decisions: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass(kw_only=True)
class SimulationRecord:
    """A what-if simulation of an incident, appended to that incident's ledger chain."""

    incident_id: str
    simulation_id: str
    summary: dict[str, Any]
