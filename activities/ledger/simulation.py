"""Activities behind what-if simulations: recorded gate inputs, another bundle's decisions.

They read and append the ledger and compile a policy bundle from sources a caller sent, so
file names are checked before anything touches the disk.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import Engine
from temporalio import activity

from activities.ledger.types import (
    PolicyEvaluation,
    PolicyEvaluationResult,
    RecordedGate,
    SimulationRecord,
)
from activities.ledger.writer import LedgerWriter
from activities.policy.engine import EmbeddedPolicyEngine, PolicyError
from activities.policy.types import GateInput, IncidentRef
from api.core.audit_ledger import EntryDraft, archive_bundle, incident_entries


class BadPolicyFilesError(ValueError):
    """A what-if bundle file name that is absolute, escapes the bundle, or is not policy."""


def safe_name(name: str) -> str:
    """Return ``name`` when it is a relative ``*.rego`` or ``data.json`` path inside the bundle.

    Raises:
        BadPolicyFilesError: naming the file.
    """
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(p in ("..", "") for p in path.parts):
        raise BadPolicyFilesError(f"{name!r}: policy file names must be relative paths")
    if path.suffix != ".rego" and str(path) != "data.json":
        raise BadPolicyFilesError(f"{name!r}: only *.rego files and data.json make a bundle")
    return str(path)


def gate_input_from_dict(doc: dict[str, Any]) -> GateInput:
    """Rebuild the typed gate input the ledger recorded as a dict."""
    fields = dict(doc)
    fields["incident"] = IncidentRef(**fields["incident"])
    return GateInput(**fields)


def evaluate(request: PolicyEvaluation) -> PolicyEvaluationResult:
    """Compile the bundle from its sources and decide every input; errors become the result."""
    try:
        names = {safe_name(name): text for name, text in request.policy_files.items()}
    except BadPolicyFilesError as exc:
        return PolicyEvaluationResult(error=str(exc))
    with tempfile.TemporaryDirectory(prefix="steward-whatif-") as folder:
        root = Path(folder)
        for name, text in names.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        try:
            engine = EmbeddedPolicyEngine(root)
        except PolicyError as exc:
            return PolicyEvaluationResult(error=f"the what-if policy does not compile: {exc}")
        decisions = []
        for doc in request.gate_inputs:
            try:
                decisions.append(asdict(engine.evaluate(gate_input_from_dict(doc))))
            except (TypeError, KeyError) as exc:
                return PolicyEvaluationResult(error=f"a recorded gate input is malformed: {exc}")
        return PolicyEvaluationResult(engine.bundle_sha256, decisions)


class SimulationActivities:
    """Reads recorded decisions from the ledger and evaluates them under another bundle."""

    def __init__(self, engine: Engine, ledger: LedgerWriter) -> None:
        self._engine = engine
        self._ledger = ledger

    @activity.defn(name="steward.recorded_gates")
    def recorded_gates(self, incident_id: str) -> list[RecordedGate]:
        """Return the incident's recorded gate decisions (with their inputs), in step order."""
        gates = []
        for entry in incident_entries(self._engine, incident_id):
            if entry.kind != "decision":
                continue
            payload = json.loads(entry.payload)
            if not payload.get("gate_input"):
                continue  # recorded before gate inputs were kept: nothing to re-decide
            gates.append(
                RecordedGate(
                    entry.step or 0,
                    payload.get("step_kind", "act"),
                    payload["actuator"],
                    payload.get("params") or {},
                    payload["gate_input"],
                    payload["decision"],
                )
            )
        return gates

    @activity.defn(name="steward.evaluate_policy")
    def evaluate_policy(self, request: PolicyEvaluation) -> PolicyEvaluationResult:
        """Decide the inputs under the bundle built from ``request.policy_files``.

        A bundle that compiles is archived, so a re-planned playbook can decide with it and
        evidence packs can carry it.
        """
        result = evaluate(request)
        if result.error is None:
            files = {safe_name(name): text for name, text in request.policy_files.items()}
            archive_bundle(self._engine, result.bundle_sha256, files)
        return result

    @activity.defn(name="steward.record_simulation")
    def record_simulation(self, rec: SimulationRecord) -> None:
        """Append the simulation's summary to the simulated incident's chain."""
        key = f"{rec.incident_id}:simulation:{rec.simulation_id}"
        self._ledger.write(
            [
                EntryDraft(
                    rec.incident_id,
                    key,
                    "simulation",
                    None,
                    {"id": rec.simulation_id, **rec.summary},
                )
            ]
        )
