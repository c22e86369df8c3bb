"""Turn what a policy engine returned into a :class:`Decision`, failing closed.

Both engines end here: regopy's raw output text and OPA's JSON document. Anything that is
not a well-formed decision document becomes a deny that says why.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from activities.policy.bundle import DECISION_VAR, UNDEFINED, output_error
from activities.policy.types import ApprovalRequirement, ApproverGroup, Decision

log = logging.getLogger(__name__)

OUTCOMES = ("allow", "approval_required", "deny")


def deny(bundle_sha: str, in_sha: str, rule: str, reason: str) -> Decision:
    """Return a deny decision with one rule and one reason."""
    return Decision(
        outcome="deny",
        reasons=[reason],
        bundle_sha256=bundle_sha,
        input_sha256=in_sha,
        approval=None,
        rules=[rule],
    )


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
        return deny(bundle_sha, in_sha, "undefined_decision", "undefined decision")
    error = output_error(raw)
    if error is not None:
        log.warning("policy evaluation failed: %s", error)
        return deny(bundle_sha, in_sha, "evaluation_error", f"policy error: {error}")
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
        return deny(bundle_sha, in_sha, "undefined_decision", "undefined decision")
    return decision_from_document(bindings[DECISION_VAR], bundle_sha, in_sha)


def decision_from_document(doc: Any, bundle_sha: str, in_sha: str) -> Decision:
    """Turn a decision document (already parsed JSON) into a Decision, failing closed."""
    try:
        return _parse_decision(doc, bundle_sha, in_sha)
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
    first = _group(value, "approval")
    stages = value.get("escalation", [])
    if not isinstance(stages, list):
        raise _MalformedError("approval.escalation must be a list")
    excluded = value.get("excluded_principals", [])
    return ApprovalRequirement(
        quorum=_positive_int(value.get("quorum"), "approval.quorum"),
        roles=first.roles,
        timeout_seconds=first.timeout_seconds,
        principals=first.principals,
        teams=first.teams,
        excluded_principals=_strings(excluded, "approval.excluded_principals"),
        escalation=[_group(g, f"approval.escalation[{i}]") for i, g in enumerate(stages)],
    )


def _group(value: Any, name: str) -> ApproverGroup:
    if not isinstance(value, dict):
        raise _MalformedError(f"{name} must be an object")
    roles = value.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise _MalformedError(f"{name}.roles must be a non-empty list of strings")
    principals = value.get("principals")
    return ApproverGroup(
        roles=list(roles),
        principals=None if principals is None else _strings(principals, f"{name}.principals"),
        teams=_strings(value.get("teams", []), f"{name}.teams"),
        timeout_seconds=_positive_int(value.get("timeout_seconds"), f"{name}.timeout_seconds"),
    )


def _positive_int(value: Any, name: str) -> int:
    # bool is an int subclass, and JSON may carry 3600 as 3600.0; both need care.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _MalformedError(f"{name} must be a positive integer")
    return value


def _malformed(bundle_sha: str, in_sha: str, detail: str) -> Decision:
    return deny(bundle_sha, in_sha, "malformed_decision", f"malformed decision: {detail}")
