"""The sweep activity: :func:`~activities.incidents.sweep.sweep_incidents` for the workflow."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client

from activities import names
from activities.incidents.sweep import describe, sweep_incidents
from activities.incidents.types import SweepReport, SweepRequest
from api.ledger.keys import LedgerSigner

logger = logging.getLogger("steward.sweep")


class IncidentSweeper:
    """Sweeps with the worker's Temporal client, database and ledger key."""

    def __init__(self, client: Client, engine: Engine, signer: LedgerSigner) -> None:
        self._client = client
        self._engine = engine
        self._signer = signer

    @activity.defn(name=names.INCIDENT_SWEEP)
    async def sweep(self, request: SweepRequest) -> SweepReport:
        """Report (and with ``repair`` close) incident rows whose workflow is not running."""
        findings = await sweep_incidents(
            self._client, self._engine, self._signer, repair=request.repair, limit=request.limit
        )
        if findings:
            logger.warning(
                "incident sweep found %d stale row(s):\n%s", len(findings), describe(findings)
            )
        return SweepReport(findings=findings)
