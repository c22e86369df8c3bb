"""Plain-text renderings of audit results for the terminal."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from api.schemas.incidents import change_lines
from api.services.audit.replay import ReplayOutcome


def replay_lines(outcomes: Iterable[ReplayOutcome]) -> list[str]:
    """One line per replayed history, then the non-determinism details, then a total."""
    lines: list[str] = []
    total = bad = 0
    for o in outcomes:
        total += 1
        if o.compatible:
            lines.append(f"compatible    {o.workflow_id} ({o.workflow_type})")
            continue
        bad += 1
        lines.append(f"INCOMPATIBLE  {o.workflow_id} ({o.workflow_type or 'unknown type'})")
        if o.first_mismatch:
            lines.append(f"    first mismatching event: {o.first_mismatch}")
        lines.append(f"    {o.error}")
    lines.append(f"{total - bad} compatible, {bad} incompatible")
    return lines


def _short(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if value not in (None, {}) else "-"


def card_lines(card: dict[str, Any]) -> list[str]:
    """The decision card as text, section by section."""
    inc = card["incident"]
    detected = card.get("detected") or {}
    lines = [
        f"incident {inc['id']}  {inc['service']}/{inc['signal']}  severity {inc['severity']}  "
        f"playbook {inc['playbook']}  status {inc['status']}",
        f"detected: by {detected.get('opened_by', inc['opened_by'])}"
        f" at {detected.get('at', '?')}: {detected.get('summary') or '(no explanation given)'}",
    ]
    for ev in detected.get("evidence", []):
        why = ev["explanation"].get("reason") or _short(ev["explanation"])
        score = "-" if ev["score"] is None else f"{ev['score']:.2f}"
        lines.append(f"  evidence {ev['source']} at {ev['observed_at']} score {score}: {why}")
    lines.append("policy decisions:")
    for d in card["decisions"]:
        again = " at dispatch" if d.get("round", 1) > 1 else ""
        lines.append(
            f"  step {d['step']} {d['actuator']} {_short(d['params'])}{again}: {d['outcome']} "
            f"(rules {', '.join(d['rules']) or '-'}; bundle {str(d['bundle_sha256'])[:12]})"
        )
        lines.extend(f"      reason: {r}" for r in d["reasons"])
    lines.append("approvals:" if card["approvals"] else "approvals: none needed")
    for a in card["approvals"]:
        reason = f" ({a['reason']})" if a.get("reason") else ""
        asked = f" (round {a['round']})" if a.get("round", 1) > 1 else ""
        lines.append(f"  step {a['step']} {a['actuator']}{asked}: {a['status']}{reason}")
        lines.extend(f"      shown to change {line}" for line in change_lines(a.get("diff")))
        for v in a["votes"]:
            lines.append(
                f"      {v['decision']} by {v['principal']} at {v['at']}: {v['comment'] or ''}"
            )
        for r in a["refused"]:
            lines.append(f"      refused {r['principal']} at {r['at']}: {r['reason']}")
    lines.append("changes:" if card["changes"] else "changes: none")
    for c in card["changes"]:
        note = " (irreversible)" if c["reversible"] is False else ""
        lines.append(
            f"  step {c['step']} {c['actuator']} {c['status']}: before {_short(c['before'])} "
            f"-> after {_short(c['after'])}{note}"
        )
    for v in card["verification"]:
        lines.append(f"verification: step {v['step']} {v['check']} {v['status']}: {v['detail']}")
    for c in card["compensation"]:
        lines.append(f"compensation: step {c['step']} {c['actuator']} {c['status']}")
    outcome = card.get("outcome") or {}
    lines.append(f"outcome: {outcome.get('status', inc['status'])}: {outcome.get('reason', '')}")
    undo = card["undo"]
    if undo["status"] == "not undone":
        lines.append("undo: not undone")
    else:
        lines.append(
            f"undo: {undo['id']} {undo['status']} by {undo['by']}; undone steps "
            f"{undo['undone_steps'] or '-'}; irreversible {undo['irreversible'] or '-'}"
        )
    ledger = card["ledger"]
    state = "intact" if ledger["intact"] else f"BROKEN: {ledger['problem']}"
    lines.append(f"ledger: {ledger['entries']} entries, head {str(ledger['head'])[:16]}, {state}")
    return lines
