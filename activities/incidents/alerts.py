"""The alert activity: a run tells operators that something needs them now.

An alert is written on the notify path's logger (``steward.notify``, at ERROR, where log
shipping and the ``notify.log`` actuator's messages already go) and appended to the incident's
signed ledger chain, so ``steward audit`` timelines and evidence packs show it. The run also
puts it on the incident's outcome, which the API, the console and ``steward incident`` show.
It is not a gated actuator call on purpose: an alert must go out even when policy (a kill
switch, a freeze) denies every action.
"""

from __future__ import annotations

import logging

from temporalio import activity

from activities import names
from activities.incidents.types import IncidentAlert
from activities.ledger.writer import LedgerWriter
from api.ledger.store import EntryDraft

logger = logging.getLogger("steward.notify")


class IncidentAlerts:
    """Raises alerts for the worker's runs."""

    def __init__(self, ledger: LedgerWriter) -> None:
        self._ledger = ledger

    @activity.defn(name=names.INCIDENT_ALERT)
    def alert(self, alert: IncidentAlert) -> None:
        """Log the alert and append it to the incident's ledger (once per incident and kind)."""
        logger.error("ALERT %s %s: %s", alert.kind, alert.incident_id, alert.message)
        self._ledger.write(
            [
                EntryDraft(
                    alert.incident_id,
                    f"{alert.incident_id}::alert:{alert.kind}",
                    "alert",
                    None,
                    {"kind": alert.kind, "message": alert.message, "details": alert.details},
                )
            ]
        )
