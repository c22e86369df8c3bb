"""The decision card: one incident on one page, told from its signed ledger entries.

What was detected and why, which policy rules fired (with the bundle hash), who approved and
when (and who was refused), what changed (before and after), the verification result, the
outcome and the undo status.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from api.ledger.chain import check_incident_chain
from api.ledger.keys import LedgerVerifier
from api.ledger.store import entry_dict, incident_entries
from api.models import Incident
from api.services.audit.undo import undo_id
from api.services.evidence import evidence_of


class UnknownCardError(LookupError):
    """No incident has the given id."""


def _approval(cards: dict[int, dict[str, Any]], step: int, actuator: str) -> dict[str, Any]:
    blank = {"step": step, "actuator": actuator, "status": "pending", "round": 1}
    blank |= {"votes": [], "refused": []}
    return cards.setdefault(step, blank)


def _apply_entry(card: dict[str, Any], kind: str, step: int, p: dict[str, Any], at: str) -> None:
    """File one ledger entry's payload under the card section it belongs to."""
    approvals: dict[int, dict[str, Any]] = card["_approvals"]
    if kind == "opened":
        card["detected"] = {k: p.get(k) for k in ("signal", "severity", "opened_by", "summary")}
        card["detected"]["at"] = at
    elif kind == "decision":
        decision = p.get("decision") or {}
        card["decisions"].append(
            {
                "step": step,
                "actuator": p.get("actuator"),
                "params": p.get("params"),
                "outcome": decision.get("outcome"),
                "rules": decision.get("rules", []),
                "reasons": decision.get("reasons", []),
                "bundle_sha256": decision.get("bundle_sha256"),
                # 1, or n > 1 for the re-decision at dispatch after approval round n - 1.
                "round": p.get("round", 1),
            }
        )
    elif kind == "approval_requested":
        entry = _approval(approvals, step, str(p.get("actuator")))
        entry.update(requested_at=p.get("at"), requirement=p.get("requirement"))
        # What the approvers were shown would change (absent before previews existed).
        entry.update(diff=p.get("diff"))
        # A later round asks again: pending until its own verdict.
        entry.update(round=p.get("round", 1), status="pending")
    elif kind == "vote":
        _approval(approvals, step, str(p.get("actuator")))["votes"].append(
            {k: p.get(k) for k in ("principal", "decision", "comment")} | {"at": at}
        )
    elif kind == "approval_decided":
        entry = _approval(approvals, step, str(p.get("actuator")))
        entry.update(status=p.get("status"), reason=p.get("reason"), decided_at=p.get("at"))
    elif kind == "approval_refused":
        _approval(approvals, step, "")["refused"].append(
            {k: p.get(k) for k in ("principal", "decision", "reason", "at")}
        )
    elif kind in ("apply", "apply_failed", "plan", "undo", "undo_failed"):
        section = "compensation" if kind.startswith("undo") else "changes"
        card[section].append(
            {
                "step": step,
                "actuator": p.get("name"),
                "status": p.get("status"),
                "params": p.get("params"),
                "before": p.get("before"),
                "after": p.get("result"),
                "error": p.get("error"),
                "reversible": p.get("reversible"),
            }
        )
    elif kind == "verification":
        result = p.get("result") or {}
        card["verification"].append(
            {"step": step, "check": p.get("name"), "status": p.get("status")}
            | {"detail": result.get("detail"), "observed": result.get("observed")}
        )
    elif kind == "outcome":
        card["outcome"] = p.get("outcome")
    elif kind == "simulation":
        card["simulations"].append(p)


def decision_card(engine: Engine, verifier: LedgerVerifier, incident_id: str) -> dict[str, Any]:
    """Build the card of ``incident_id``.

    Raises:
        UnknownCardError: No such incident.
    """
    with Session(engine) as session:
        row = session.get(Incident, incident_id)
        undo_row = session.get(Incident, undo_id(incident_id))
    if row is None:
        raise UnknownCardError(f"no incident {incident_id!r}")
    entries = [entry_dict(e) for e in incident_entries(engine, incident_id)]
    card: dict[str, Any] = {
        "incident": row.model_dump(mode="json", exclude={"outcome"}),
        "detected": None,
        "decisions": [],
        "_approvals": {},
        "changes": [],
        "verification": [],
        "compensation": [],
        "outcome": None,
        "simulations": [],
    }
    for entry in entries:
        try:
            payload = json.loads(entry["payload"])
        except ValueError:
            continue  # reported by the ledger section below
        _apply_entry(card, entry["kind"], entry["step"] or 0, payload, entry["at"])
    evidence = evidence_of(engine, incident_id)
    if evidence:
        card["detected"] = (card["detected"] or {}) | {"evidence": evidence}
    approvals = card.pop("_approvals")
    card["approvals"] = [approvals[step] for step in sorted(approvals)]
    card["bundles"] = sorted({d["bundle_sha256"] for d in card["decisions"] if d["bundle_sha256"]})
    if undo_row is None:
        card["undo"] = {"status": "not undone"}
    else:
        outcome = undo_row.outcome or {}
        card["undo"] = {
            "id": undo_row.id,
            "status": undo_row.status,
            "by": undo_row.opened_by,
            "undone_steps": outcome.get("compensated", []),
            "irreversible": outcome.get("irreversible", []),
        }
    problem = check_incident_chain(entries, verifier) if entries else None
    card["ledger"] = {
        "entries": len(entries),
        "head": entries[-1]["entry_hash"] if entries else None,
        "intact": problem is None,
        "problem": problem.describe() if problem else None,
    }
    return card
