"""Activities behind what-if simulations: recorded gate inputs, another bundle's decisions.

They read and append the ledger and compile a policy bundle from sources a caller sent, so
file names are checked before anything touches the disk.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from sqlalchemy import Engine
from temporalio import activity

from activities import names
from activities.ledger.types import (
    PolicyEvaluation,
    PolicyEvaluationResult,
    RecordedGate,
    SimulationRecord,
)
from activities.ledger.writer import LedgerWriter
from activities.policy.bundle import PolicyError
from activities.policy.limits import BundleLimits, BundleTooLargeError, check_bundle_size
from activities.policy.sandbox import PolicyLimitError, PolicySandbox, SandboxLimits
from api.core.settings import Settings, get_settings
from api.ledger.store import EntryDraft, archive_bundle, incident_entries


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


def evaluate(request: PolicyEvaluation, settings: Settings) -> PolicyEvaluationResult:
    """Compile the bundle from its sources and decide every input; errors become the result.

    The bundle is a user's: it is size-checked, then compiled and evaluated in a sandbox
    process with memory and time limits, so this worker never holds what it builds. A limit
    breach is a result like a compile error (the workflow records it and does not retry).
    """
    try:
        names = {safe_name(name): text for name, text in request.policy_files.items()}
        check_bundle_size(names, BundleLimits.from_settings(settings))
    except (BadPolicyFilesError, BundleTooLargeError) as exc:
        return PolicyEvaluationResult(error=str(exc))
    with PolicySandbox(SandboxLimits.for_evaluation(settings)) as sandbox:
        try:
            sha = sandbox.request({"op": "load", "files": names})["bundle_sha256"]
        except PolicyLimitError as exc:
            return PolicyEvaluationResult(error=exc.message)
        except PolicyError as exc:
            return PolicyEvaluationResult(error=f"the what-if policy does not compile: {exc}")
        try:
            answer = sandbox.request({"op": "decide", "inputs": request.gate_inputs})
        except PolicyError as exc:
            return PolicyEvaluationResult(error=exc.message)
    return PolicyEvaluationResult(bundle_sha256=sha, decisions=answer["decisions"])


class SimulationActivities:
    """Reads recorded decisions from the ledger and evaluates them under another bundle."""

    def __init__(
        self, engine: Engine, ledger: LedgerWriter, settings: Settings | None = None
    ) -> None:
        self._engine = engine
        self._ledger = ledger
        # The worker's settings (sandbox limits); ``get_settings()`` for callers without.
        self._settings = settings or get_settings()

    @activity.defn(name=names.LEDGER_READ_GATES)
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
                    step=entry.step or 0,
                    step_kind=payload.get("step_kind", "act"),
                    actuator=payload["actuator"],
                    params=payload.get("params") or {},
                    gate_input=payload["gate_input"],
                    decision=payload["decision"],
                )
            )
        return gates

    @activity.defn(name=names.LEDGER_EVALUATE_POLICY)
    def evaluate_policy(self, request: PolicyEvaluation) -> PolicyEvaluationResult:
        """Decide the inputs under the bundle built from ``request.policy_files``.

        A bundle that compiles is archived, so a re-planned playbook can decide with it and
        evidence packs can carry it.
        """
        result = evaluate(request, self._settings)
        if result.error is None:
            files = {safe_name(name): text for name, text in request.policy_files.items()}
            archive_bundle(self._engine, result.bundle_sha256, files)
        return result

    @activity.defn(name=names.LEDGER_RECORD_SIMULATION)
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
