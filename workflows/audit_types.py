"""Public inputs and results of the undo and what-if simulation workflows (imported by the API)."""

from dataclasses import dataclass, field
from typing import Any

from workflows.types import IncidentInput


@dataclass(kw_only=True)
class UndoTarget:
    """One applied action to reverse, as the ledger recorded it.

    Attributes:
        step: The step of the incident that applied it.
        actuator: The actuator that applied it.
        params: Its validated parameters.
        before: The before-state snapshot the undo restores.
    """

    step: int
    actuator: str
    params: dict[str, Any]
    before: dict[str, Any]


@dataclass(kw_only=True)
class UndoRequest:
    """Reverse an incident's applied actions.

    Attributes:
        incident_id: The incident being undone.
        incident: The undo run's own incident (its id is the undo workflow's id).
        targets: Reversible applied actions, in the order they were applied.
        irreversible: Applied actions no undo exists for, e.g. ``step 1 demo.restart``.
    """

    incident_id: str
    incident: IncidentInput
    targets: list[UndoTarget]
    irreversible: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class SimulationRequest:
    """Re-evaluate an incident's recorded gate inputs under another policy bundle.

    Attributes:
        incident_id: The incident whose recorded decisions are re-evaluated.
        policy_files: The what-if bundle's sources by relative path (``*.rego``, ``data.json``).
        playbook: Also re-run this playbook in simulate mode on the incident's recorded input.
        incident: The recorded input to re-run the playbook with (needed with ``playbook``).
    """

    incident_id: str
    policy_files: dict[str, str]
    playbook: str | None = None
    incident: IncidentInput | None = None


@dataclass(kw_only=True)
class SimulatedDecision:
    """One action, the decision recorded for it, and what the what-if bundle decides."""

    step: int
    actuator: str
    params: dict[str, Any]
    recorded: str
    simulated: str
    change: str  # "same", "allowed -> denied", "approval now needed", ...
    reasons: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class SimulationResult:
    """Side by side: recorded decisions and actions against the what-if bundle's.

    Attributes:
        incident_id: The incident simulated.
        bundle_sha256: Hash of the what-if bundle.
        recorded_bundles: Hashes of the bundles that made the recorded decisions.
        decisions: Every recorded gate input, re-decided.
        playbook: The playbook re-run in simulate mode, if any.
        plan: Its planned actions, decided by the what-if bundle.
        action_changes: Actions added or dropped by the re-run, e.g. ``+ demo.scale {...}``.
        error: Why the simulation could not run (a bundle that does not compile).
    """

    incident_id: str
    bundle_sha256: str = ""
    recorded_bundles: list[str] = field(default_factory=list)
    decisions: list[SimulatedDecision] = field(default_factory=list)
    playbook: str | None = None
    plan: list[SimulatedDecision] = field(default_factory=list)
    action_changes: list[str] = field(default_factory=list)
    error: str | None = None
