"""``steward audit verify``: the ledger's chains and signatures, and the history cross-check."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Engine
from temporalio.client import Client

from api.ledger.chain import ChainProblem, check_global_chain, check_incident_chain
from api.ledger.keys import LedgerVerifier
from api.ledger.store import all_entries, entry_dict, incident_entries
from api.services.audit.history import (
    HistoryUnavailableError,
    cross_check,
    fetch_history,
    history_facts,
)


@dataclass
class VerifyReport:
    """What verify checked and what it found.

    Attributes:
        entries: Entries checked.
        incidents: Incidents whose chains were checked.
        problems: Failures, the first broken entry first.
        warnings: What could not be checked (a history past retention).
    """

    entries: int = 0
    incidents: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing failed."""
        return not self.problems


class UnknownIncidentError(LookupError):
    """The ledger has no entry for the incident."""


def _chain_problem(problem: ChainProblem | None) -> list[str]:
    return [problem.describe()] if problem is not None else []


async def verify_ledger(
    engine: Engine,
    verifier: LedgerVerifier,
    client: Client | None,
    incident_id: str | None = None,
) -> VerifyReport:
    """Check chains and signatures, then (with a client) cross-check each incident's history.

    Args:
        engine: The app database.
        verifier: Trusted ledger public keys.
        client: Temporal client for the cross-check; None skips it.
        incident_id: One incident's chain only; None checks the global chain and every incident.

    Raises:
        UnknownIncidentError: ``incident_id`` has no ledger entries.
    """
    report = VerifyReport()
    if incident_id is not None:
        rows = [entry_dict(r) for r in incident_entries(engine, incident_id)]
        if not rows:
            raise UnknownIncidentError(f"the ledger has no entries for incident {incident_id!r}")
        report.problems += _chain_problem(check_incident_chain(rows, verifier))
        by_incident = {incident_id: rows}
    else:
        rows = [entry_dict(r) for r in all_entries(engine)]
        report.problems += _chain_problem(check_global_chain(rows, verifier))
        by_incident = {}
        for row in rows:
            by_incident.setdefault(row["incident_id"], []).append(row)
    report.entries = len(rows)
    report.incidents = sorted(by_incident)
    if client is None:
        return report
    for ident, entries in by_incident.items():
        try:
            history = await fetch_history(client, ident)
        except HistoryUnavailableError as exc:
            report.warnings.append(f"{ident}: not cross-checked, {exc}")
            continue
        facts = history_facts(json.loads(history.to_json()))
        report.problems += [f"{ident}: {p}" for p in cross_check(facts, entries)]
    return report
