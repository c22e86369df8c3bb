"""Policy engines: turn a gate input into a decision, failing closed.

The embedded engine evaluates a prebuilt regopy bundle in process. regopy interpreters
are not thread-safe (one shared interpreter segfaults), so each thread gets its own; the
compiled bundle itself is shared read-only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from regopy import Input, Interpreter

from activities.policy.bundle import (
    DECISION_VAR,
    UNDEFINED,
    PolicyBundle,
    PolicyError,
    new_interpreter,
    output_error,
    query_raw,
    rego_error_message,
)
from activities.policy.types import ApprovalRequirement, Decision, GateInput

__all__ = [
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

OUTCOMES = ("allow", "approval_required", "deny")


def gate_input_to_dict(gate_input: GateInput) -> dict[str, Any]:
    """Return the gate input as the plain dict the policy sees as ``input``."""
    return dataclasses.asdict(gate_input)


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


class PolicyEngine(ABC):
    """Decides gate inputs. Implementations never raise from :meth:`evaluate`."""

    @property
    @abstractmethod
    def bundle_sha256(self) -> str:
        """Hash of the policy bundle currently deciding."""

    @abstractmethod
    def evaluate(self, gate_input: GateInput) -> Decision:
        """Return the decision for ``gate_input``; any failure is a deny."""

    @abstractmethod
    def reload(self) -> str:
        """Load the policy again, switching only when it compiles; return the new hash.

        Raises:
            PolicyError: The new policy does not compile; the old one stays active.
        """


class EmbeddedPolicyEngine(PolicyEngine):
    """Evaluates the Rego bundle in process with regopy, one interpreter per thread."""

    def __init__(self, policy_dir: Path | None = None) -> None:
        """Compile the policy in ``policy_dir`` (default ``get_settings().policy_dir``).

        Raises:
            PolicyError: The policy does not compile.
        """
        self._bundle = PolicyBundle.load(policy_dir)
        self._dir = self._bundle.directory
        self._reload_lock = threading.Lock()
        self._local = threading.local()

    @property
    def bundle_sha256(self) -> str:
        """Hash of the policy bundle currently deciding."""
        return self._bundle.sha256

    @property
    def bundle(self) -> PolicyBundle:
        """The policy bundle currently deciding."""
        return self._bundle

    def reload(self) -> str:
        """Compile the policy directory again and switch to it once it has compiled.

        Evaluations already running finish on the bundle they started with.

        Raises:
            PolicyError: The new policy does not compile; the old one stays active.
        """
        with self._reload_lock:
            fresh = PolicyBundle.load(self._dir)
            previous, self._bundle = self._bundle, fresh
        if previous.sha256 != fresh.sha256:
            log.info("policy bundle %s replaces %s", fresh.sha256, previous.sha256)
        return fresh.sha256

    def evaluate(self, gate_input: GateInput) -> Decision:
        """Return the decision for ``gate_input``; errors and odd results become denies.

        An input that cannot be encoded as JSON is denied with an empty ``input_sha256``.
        """
        # Read the bundle once so a concurrent reload cannot mix two bundles in one answer.
        bundle = self._bundle
        try:
            text = canonical_json(gate_input_to_dict(gate_input))
        except (TypeError, ValueError) as exc:
            return _deny(bundle.sha256, "", "invalid_input", f"invalid input: {exc}")
        in_sha = hashlib.sha256(text.encode()).hexdigest()
        try:
            interpreter = self._interpreter()
            # Parsed back from the hashed text, so the policy sees exactly what was hashed
            # (tuples as lists, keys as strings). regopy.Input beats set_input_term here:
            # it skips Rego's parser and takes a third of the time.
            interpreter.set_input(Input(json.loads(text)))
            raw = query_raw(interpreter, bundle.bundle)
        except Exception as exc:  # regopy raises RegoError, ctypes others; none may escape.
            message = rego_error_message(str(exc))
            log.warning("policy evaluation failed: %s", message)
            return _deny(bundle.sha256, in_sha, "evaluation_error", f"policy error: {message}")
        return decision_from_output(raw, bundle.sha256, in_sha)

    def _interpreter(self) -> Interpreter:
        interpreter: Interpreter | None = getattr(self._local, "interpreter", None)
        if interpreter is None:
            interpreter = new_interpreter()
            self._local.interpreter = interpreter
        return interpreter


def decision_from_output(raw: str, bundle_sha: str, in_sha: str) -> Decision:
    """Turn regopy's raw output for the bundle query into a Decision, failing closed.

    Args:
        raw: ``undefined``, a JSON result whose ``decision`` binding is the document, or
            an error tree.
        bundle_sha: Hash of the bundle that produced ``raw``.
        in_sha: Hash of the canonical gate input.

    Returns:
        The policy's decision, or a deny naming why the output could not be trusted.
    """
    if raw.strip() == UNDEFINED:
        return _deny(bundle_sha, in_sha, "undefined_decision", "undefined decision")
    error = output_error(raw)
    if error is not None:
        log.warning("policy evaluation failed: %s", error)
        return _deny(bundle_sha, in_sha, "evaluation_error", f"policy error: {error}")
    try:
        result = json.loads(raw)
    except json.JSONDecodeError as exc:
        return _malformed(bundle_sha, in_sha, f"output is not JSON ({exc.msg})")
    if isinstance(result, list):
        if len(result) != 1:
            return _malformed(bundle_sha, in_sha, f"{len(result)} results instead of one")
        result = result[0]
    bindings = result.get("bindings") if isinstance(result, dict) else None
    if not isinstance(bindings, dict) or DECISION_VAR not in bindings:
        return _deny(bundle_sha, in_sha, "undefined_decision", "undefined decision")
    try:
        return _parse_decision(bindings[DECISION_VAR], bundle_sha, in_sha)
    except _MalformedError as exc:
        return _malformed(bundle_sha, in_sha, str(exc))


class _MalformedError(ValueError):
    """The decision document does not have the agreed shape."""


def _parse_decision(doc: Any, bundle_sha: str, in_sha: str) -> Decision:
    if not isinstance(doc, dict):
        raise _MalformedError(f"expected an object, got {type(doc).__name__}")
    missing = sorted({"outcome", "reasons", "approval", "rules"} - doc.keys())
    if missing:
        raise _MalformedError(f"missing {', '.join(missing)}")
    outcome = doc["outcome"]
    if outcome not in OUTCOMES:
        raise _MalformedError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    reasons = _strings(doc["reasons"], "reasons")
    rules = _strings(doc["rules"], "rules")
    approval = None
    if outcome == "approval_required":
        approval = _approval(doc["approval"])
    elif doc["approval"] is not None:
        raise _MalformedError(f"approval given with outcome {outcome!r}")
    return Decision(
        outcome=outcome,
        reasons=reasons,
        bundle_sha256=bundle_sha,
        input_sha256=in_sha,
        approval=approval,
        rules=rules,
    )


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _MalformedError(f"{name} must be a list of strings")
    return list(value)


def _approval(value: Any) -> ApprovalRequirement:
    if not isinstance(value, dict):
        raise _MalformedError("approval_required without an approval object")
    roles = value.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise _MalformedError("approval.roles must be a non-empty list of strings")
    return ApprovalRequirement(
        quorum=_positive_int(value.get("quorum"), "approval.quorum"),
        roles=list(roles),
        timeout_seconds=_positive_int(value.get("timeout_seconds"), "approval.timeout_seconds"),
    )


def _positive_int(value: Any, name: str) -> int:
    # bool is an int subclass, and JSON may carry 3600 as 3600.0; both need care.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _MalformedError(f"{name} must be a positive integer")
    return value


def _malformed(bundle_sha: str, in_sha: str, detail: str) -> Decision:
    return _deny(bundle_sha, in_sha, "malformed_decision", f"malformed decision: {detail}")


def _deny(bundle_sha: str, in_sha: str, rule: str, reason: str) -> Decision:
    return Decision(
        outcome="deny",
        reasons=[reason],
        bundle_sha256=bundle_sha,
        input_sha256=in_sha,
        approval=None,
        rules=[rule],
    )
