"""The incident sweeper: rows that say a run goes on while its workflow has ended, or is gone.

A run that is terminated, times out, fails on a bug or loses its last record leaves its
incident row ``open``, ``running`` or ``awaiting_approval`` for good: undo refuses it ("still
running") and the queue shows it. The sweeper asks Temporal about every such row. A row whose
workflow still runs is left alone. Any other row is reported, and with ``repair`` made final:
the workflow's own recorded outcome when it completed with one, else ``failed`` with the
reason (``terminated: <why>``, ``timed out``, ``no workflow``). A repair writes the row, closes
its pending approvals and appends the outcome to the incident's ledger chain under the same
key a run's own outcome uses, in one transaction, as the record activities do. The rows are
written by ``activities.records.incident_rows``, the only writer of incident rows.

A plain library: the sweep activity (run by a Temporal Schedule), the admin REST route and
``steward incidents sweep`` all call :func:`sweep_incidents`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import (
    Client,
    WorkflowContinuedAsNewError,
    WorkflowExecutionStatus,
    WorkflowFailureError,
)
from temporalio.exceptions import TerminatedError
from temporalio.exceptions import TimeoutError as WorkflowTimeoutError
from temporalio.service import RPCError, RPCStatusCode

from activities.incidents.types import SweepFinding
from activities.records.incident_rows import close_swept_incident
from activities.records.ledger_events import incident_drafts
from activities.types import IncidentRecord
from api.ledger.keys import LedgerSigner
from api.ledger.store import append_in_session, lock_ledger
from api.models import Incident, Step, utcnow

# Row statuses that claim a run is still going on.
OPEN_STATUSES = ("open", "running", "awaiting_approval")
FINAL_STATUSES = ("resolved", "denied", "rejected", "rolled_back", "failed")
MISSING = "missing"


async def _ended(client: Client, incident_id: str) -> tuple[str, dict[str, Any] | None, str]:
    """The workflow's status, its recorded outcome if it completed with one, and why it ended.

    Returns ``("running", None, "")`` for a workflow that still runs.
    """
    handle = client.get_workflow_handle(incident_id)
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return MISSING, None, "its workflow does not exist (never started, or past retention)"
    status = description.status
    if status is None or status == WorkflowExecutionStatus.RUNNING:
        return "running", None, ""
    name = status.name.lower()
    try:
        result = await handle.result(follow_runs=False)
    except WorkflowFailureError as exc:
        return name, None, f"its workflow {name.replace('_', ' ')}: {_cause(exc)}"
    except WorkflowContinuedAsNewError:
        return name, None, "its workflow continued as new (playbooks never do)"
    if isinstance(result, dict) and result.get("status") in FINAL_STATUSES:
        return name, result, str(result.get("reason") or "")
    return name, None, f"its workflow {name} without an outcome"


def _cause(exc: WorkflowFailureError) -> str:
    cause = exc.cause
    if isinstance(cause, TerminatedError):
        return f"terminated ({cause.message or 'no reason given'})"
    if isinstance(cause, WorkflowTimeoutError):
        return "its execution timeout passed"
    return str(getattr(cause, "message", None) or cause)


async def sweep_incidents(
    client: Client, engine: Engine, signer: LedgerSigner, *, repair: bool, limit: int = 500
) -> list[SweepFinding]:
    """Report (and with ``repair`` close) rows that claim a run that is no longer running.

    Args:
        client: Temporal client of the incidents' namespace.
        engine: The app database.
        signer: The ledger key the repair's outcome entries are signed with.
        repair: Write the final status; without it, only report.
        limit: Most rows looked at, oldest first.

    Raises:
        RPCError: Temporal could not be asked (other than "no such workflow").
    """
    with Session(engine) as session:
        rows = list(
            session.exec(
                select(Incident)
                .where(col(Incident.status).in_(OPEN_STATUSES))
                .order_by(col(Incident.created_at))
                .limit(limit)
            ).all()
        )
    findings = []
    for row in rows:
        workflow_status, outcome, reason = await _ended(client, row.id)
        if workflow_status == "running":
            continue
        final = str(outcome["status"]) if outcome is not None else "failed"
        finding = SweepFinding(
            incident_id=row.id,
            row_status=row.status,
            workflow_status=workflow_status,
            final_status=final,
            reason=reason,
        )
        if repair:
            finding.repaired = _repair(engine, signer, row, finding, outcome)
        findings.append(finding)
    return findings


def _repair(
    engine: Engine,
    signer: LedgerSigner,
    seen: Incident,
    finding: SweepFinding,
    outcome: dict[str, Any] | None,
) -> bool:
    """Make the row final, close its approvals, append its outcome: one transaction."""
    now = utcnow()
    with Session(engine) as session:
        lock_ledger(session)
        row = session.get(Incident, seen.id)
        if row is None or row.status not in OPEN_STATUSES:
            return False  # the run (or another sweep) closed it meanwhile
        applied = session.exec(
            select(Step.step, Step.name)
            .where(Step.incident_id == row.id, Step.kind == "act", Step.status == "applied")
            .order_by(col(Step.step))
        ).all()
        swept = {"by": "sweeper", "workflow_status": finding.workflow_status, "at": now.isoformat()}
        final_outcome = {
            **(outcome or _failed_outcome(finding.reason, applied)),
            "swept": swept,
        }
        close_swept_incident(
            session,
            row,
            status=finding.final_status,
            outcome=final_outcome,
            reason=finding.reason,
            at=now,
        )
        append_in_session(session, signer, incident_drafts(_record(row)))
        session.commit()
    return True


def _failed_outcome(reason: str, applied: Any) -> dict[str, Any]:
    """A ``PlaybookOutcome``-shaped outcome for a run that recorded none."""
    return {
        "status": "failed",
        "reason": reason,
        "applied": [{"step": step, "actuator": name} for step, name in applied],
        "compensated": [],
        "irreversible": [],
        "compensation_failures": [],
        "plan": [],
        "alerts": [],
    }


def _record(row: Incident) -> IncidentRecord:
    """The row as the record activities describe an incident (for its ledger entries)."""
    window = row.window_start
    if window.tzinfo is None:
        window = window.replace(tzinfo=UTC)
    return IncidentRecord(
        id=row.id,
        service=row.service,
        signal=row.signal,
        severity=row.severity,
        playbook=row.playbook,
        mode=row.mode,
        status=row.status,
        opened_by=row.opened_by,
        window_start=window.isoformat(),
        summary=row.summary,
        outcome=row.outcome,
    )


def describe(findings: list[SweepFinding], *, at: datetime | None = None) -> str:
    """One line per finding, for logs."""
    stamp = (at or datetime.now(UTC)).isoformat()
    return "\n".join(
        f"{stamp} {f.incident_id}: {f.row_status} -> {f.final_status} "
        f"({f.workflow_status}; {f.reason}){' repaired' if f.repaired else ''}"
        for f in findings
    )
