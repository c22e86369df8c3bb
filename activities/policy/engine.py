"""Policy engines: turn a gate input into a decision, failing closed.

Two engines share one interface, chosen by ``STEWARD_POLICY_ENGINE`` (see
``activities.policy.factory``): the embedded one here, and the OPA server one in
``activities.policy.remote``. The embedded engine evaluates a prebuilt regopy bundle in
process. regopy interpreters are not thread-safe (one shared interpreter segfaults), so
each thread gets its own; the compiled bundle itself is shared read-only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from regopy import Interpreter

from activities.policy.bundle import (
    PolicyBundle,
    PolicyError,
    new_interpreter,
    query_raw,
    rego_error_message,
)
from activities.policy.decision import decision_from_output, deny
from activities.policy.rego_input import set_json_input
from activities.policy.sandbox import reload_bundle
from activities.policy.types import Decision, GateInput, IncidentRef
from api.core.settings import Settings, get_settings

__all__ = [
    "BundleHistory",
    "Decision",
    "EmbeddedPolicyEngine",
    "PolicyBundle",
    "PolicyEngine",
    "PolicyError",
    "canonical_json",
    "decision_from_output",
    "gate_input_to_dict",
    "input_sha256",
]

log = logging.getLogger(__name__)


def gate_input_to_dict(gate_input: GateInput) -> dict[str, Any]:
    """Return the gate input as the plain dict the policy sees as ``input``.

    Equal to ``dataclasses.asdict`` for a GateInput, built by hand because asdict's deep
    copy costs a tenth of a decision's time budget; anything else goes through asdict.
    """
    if type(gate_input) is not GateInput or type(gate_input.incident) is not IncidentRef:
        return dataclasses.asdict(gate_input)
    incident = gate_input.incident
    return {
        "action": gate_input.action,
        "target": gate_input.target,
        "tier": gate_input.tier,
        "parameters": gate_input.parameters,
        "incident": {
            "id": incident.id,
            "service": incident.service,
            "signal": incident.signal,
            "severity": incident.severity,
            "opened_by": incident.opened_by,
        },
        "requester": gate_input.requester,
        "mode": gate_input.mode,
        "stats": gate_input.stats,
        "time": gate_input.time,
        "workflow_id": gate_input.workflow_id,
        "step": gate_input.step,
    }


def canonical_json(value: Any) -> str:
    """Return the canonical JSON text of ``value``: sorted keys, no spaces, ASCII only.

    Raises:
        TypeError: A value is not JSON serializable.
        ValueError: A float is NaN or infinite, which JSON and Rego cannot represent.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def input_sha256(gate_input: GateInput) -> str:
    """Return the hex SHA-256 of the gate input's canonical JSON."""
    return hashlib.sha256(canonical_json(gate_input_to_dict(gate_input)).encode()).hexdigest()


class BundleHistory:
    """The sources of the bundles an engine has loaded: the current one and a few it replaced.

    A decision recorded just after a reload names the bundle before it; its sources are still
    here, as they were loaded, for the ledger to archive.
    """

    def __init__(self, first: PolicyBundle, *, keep: int = 8) -> None:
        """Start with ``first``; remember at most ``keep`` bundles."""
        self._keep = keep
        self._lock = threading.Lock()
        self._by_sha: OrderedDict[str, Mapping[str, str]] = OrderedDict()
        self.add(first)

    def add(self, bundle: PolicyBundle) -> None:
        """Remember ``bundle``'s sources (the newest), forgetting the oldest beyond the limit."""
        with self._lock:
            self._by_sha[bundle.sha256] = bundle.sources
            self._by_sha.move_to_end(bundle.sha256)
            while len(self._by_sha) > self._keep:
                self._by_sha.popitem(last=False)

    def sources(self, sha256: str) -> Mapping[str, str] | None:
        """Return the sources of bundle ``sha256``, or None when it is not remembered."""
        with self._lock:
            return self._by_sha.get(sha256)


class PolicyEngine(ABC):
    """Decides gate inputs. Implementations never raise from :meth:`decide`."""

    # Set by each engine when it loads its first bundle, added to on every reload.
    _history: BundleHistory

    def sources_of(self, sha256: str) -> Mapping[str, str] | None:
        """Return the sources of bundle ``sha256`` exactly as this engine loaded them.

        Read from memory, never from the policy directory: the files there may have changed
        since. None when this engine never loaded that bundle (or forgot it, reloads ago).
        """
        return self._history.sources(sha256)

    @property
    @abstractmethod
    def bundle(self) -> PolicyBundle:
        """The policy bundle currently deciding (its directory, files and hash)."""

    @property
    def bundle_sha256(self) -> str:
        """Hash of the policy bundle currently deciding."""
        return self.bundle.sha256

    @abstractmethod
    async def decide(self, gate_input: GateInput) -> Decision:
        """Return the decision for ``gate_input``; any failure is a deny."""

    @abstractmethod
    def reload(self) -> str:
        """Load the policy again, switching only when it compiles; return the new hash.

        Raises:
            PolicyError: The new policy does not compile; the old one stays active.
        """

    @abstractmethod
    async def aclose(self) -> None:
        """Release the engine's connections."""


class EmbeddedPolicyEngine(PolicyEngine):
    """Evaluates the Rego bundle in process with regopy, one interpreter per thread."""

    def __init__(self, policy_dir: Path | None = None, *, settings: Settings | None = None) -> None:
        """Compile the policy in ``policy_dir`` (default: the settings' ``policy_dir``).

        Args:
            policy_dir: The policy directory.
            settings: The worker's settings (the policy directory, the reload sandbox's
                limits); ``get_settings()`` when omitted.

        Raises:
            PolicyError: The policy does not compile.
        """
        self._settings = settings or get_settings()
        self._bundle = PolicyBundle.load(
            self._settings.policy_dir if policy_dir is None else policy_dir
        )
        self._history = BundleHistory(self._bundle)
        self._dir = self._bundle.directory
        self._reload_lock = threading.Lock()
        self._local = threading.local()

    @property
    def bundle(self) -> PolicyBundle:
        """The policy bundle currently deciding."""
        return self._bundle

    def reload(self) -> str:
        """Compile the policy directory again and switch to it once it has compiled.

        The files are read once and loaded first in the sandbox, with its size, memory and
        time limits; only those same bytes, once they passed, are compiled in this process.
        Evaluations already running finish on the bundle they started with.

        Raises:
            PolicyError: The new policy does not compile or breaks a limit (a
                ``PolicyLimitError``); the old one stays active.
        """
        with self._reload_lock:
            fresh = reload_bundle(self._dir, self._settings)
            self._history.add(fresh)
            previous, self._bundle = self._bundle, fresh
        if previous.sha256 != fresh.sha256:
            log.info("policy bundle %s replaces %s", fresh.sha256, previous.sha256)
        return fresh.sha256

    async def aclose(self) -> None:
        """Nothing to release: the embedded engine holds no connections."""
        return None

    async def decide(self, gate_input: GateInput) -> Decision:
        """Return the decision for ``gate_input`` (see :meth:`evaluate`).

        It runs on the caller's thread: a decision takes about a millisecond, less than
        handing it to another thread would.
        """
        return self.evaluate(gate_input)

    def evaluate(self, gate_input: GateInput) -> Decision:
        """Return the decision for ``gate_input``; errors and odd results become denies.

        An input that cannot be encoded as JSON is denied with an empty ``input_sha256``.
        """
        # Read the bundle once so a concurrent reload cannot mix two bundles in one answer.
        bundle = self._bundle
        try:
            text = canonical_json(gate_input_to_dict(gate_input))
        except (TypeError, ValueError) as exc:
            return deny(bundle.sha256, "", "invalid_input", f"invalid input: {exc}")
        in_sha = hashlib.sha256(text.encode()).hexdigest()
        try:
            interpreter = self._interpreter()
            # Parsed back from the hashed text, so the policy sees exactly what was hashed
            # (tuples as lists, keys as strings). Building the input node by node beats
            # set_input_term, which runs Rego's parser (see rego_input).
            set_json_input(interpreter, json.loads(text))
            raw = query_raw(interpreter, bundle.bundle)
        except Exception as exc:  # regopy raises RegoError, ctypes others; none may escape.
            message = rego_error_message(str(exc))
            log.warning("policy evaluation failed: %s", message)
            return deny(bundle.sha256, in_sha, "evaluation_error", f"policy error: {message}")
        return decision_from_output(raw, bundle.sha256, in_sha)

    def _interpreter(self) -> Interpreter:
        interpreter: Interpreter | None = getattr(self._local, "interpreter", None)
        if interpreter is None:
            interpreter = new_interpreter()
            self._local.interpreter = interpreter
        return interpreter
