"""The open-or-attach activity: the one way detection code opens incidents."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from activities import names
from activities.incidents.types import BadIncidentError, OpenIncident, OpenRequest, OpenResult

# Well inside the heartbeat timeout the waiting workflow gives this activity.
_HEARTBEAT_SECONDS = 5.0


class IncidentOpener:
    """Opens incidents through the same fingerprinting path as the REST API."""

    def __init__(self, client: Client, open_incident: OpenIncident) -> None:
        self._client = client
        self._open_incident = open_incident

    @activity.defn(name=names.INCIDENT_OPEN_OR_ATTACH)
    async def open_or_attach(self, request: OpenRequest) -> OpenResult:
        """Open the finding's incident, or attach the evidence to the one already open.

        Idempotent: a retry finds the incident its first attempt opened and attaches the same
        evidence (same ``dedup_key``) once.

        Raises:
            ApplicationError: Non-retryable, when the playbook or service is unknown or the
                params do not match the playbook's schema (no run starts).
        """
        try:
            return await self._open_incident(request)
        except BadIncidentError as exc:
            raise ApplicationError(str(exc), type="BadIncident", non_retryable=True) from exc

    @activity.defn(name=names.INCIDENT_AWAIT_OUTCOME)
    async def outcome(self, incident_id: str) -> dict[str, Any]:
        """Wait for an incident's run to end and return its outcome (heartbeating meanwhile).

        Raises:
            ApplicationError: Non-retryable, when the run failed instead of ending with an
                outcome.
        """
        result = asyncio.ensure_future(self._client.get_workflow_handle(incident_id).result())
        while not result.done():
            activity.heartbeat()
            await asyncio.wait([result], timeout=_HEARTBEAT_SECONDS)
        try:
            outcome = result.result()
        except WorkflowFailureError as exc:
            raise ApplicationError(
                f"incident {incident_id} ended without an outcome: {exc.cause}",
                type="NoOutcome",
                non_retryable=True,
            ) from exc
        return dict(outcome)
