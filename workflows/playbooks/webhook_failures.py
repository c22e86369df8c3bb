"""Webhook delivery failures -> bulk replay of the safe deliveries, then verify none is left."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

from workflows.playbook import Playbook, PlaybookStopped
from workflows.types import IncidentInput, PlaybookOutcome

with workflow.unsafe.imports_passed_through():
    from workflows.playbook_params import WebhookFailuresParams

# Each tenant is one gated action; policy's "remediations per minute" caps the rest anyway.
MAX_TENANTS = 10


@workflow.defn(name="webhook_failures")
class WebhookFailures(Playbook):
    """Replay each affected tenant's transient delivery failures and verify none is left.

    Params: ``tenants`` (list) or ``tenant``; ``since`` (ISO 8601, default one hour before
    the incident's window), ``max_deliveries`` per tenant (default 100),
    ``verify_within_seconds`` (default 20). ``delivery_watch`` fills in tenants and since.
    See ``WebhookFailuresParams``.
    """

    params_model = WebhookFailuresParams

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run the playbook."""
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        """Replay per tenant (each call gated by policy), then verify."""
        params = self.params_as(WebhookFailuresParams)
        tenants = list(params.tenants)
        if not tenants and params.tenant:
            tenants = [params.tenant]
        if not tenants:
            raise PlaybookStopped("failed", "no tenant to replay: set params.tenant or tenants")
        tenants = list(dict.fromkeys(tenants))[:MAX_TENANTS]
        since = (
            params.since
            or (datetime.fromisoformat(incident.window_start) - timedelta(hours=1)).isoformat()
        )
        # Failures after this moment are not this incident's: verification ignores them.
        until = workflow.now().isoformat()
        for tenant in tenants:
            await self.act(
                "webhooks.replay",
                {
                    "service": incident.service,
                    "tenant": tenant,
                    "since": since,
                    "max_deliveries": params.max_deliveries,
                },
            )
        await self.verify(
            "webhooks.replayed",
            {"tenants": tenants, "since": since, "until": until},
            within_seconds=params.verify_within_seconds,
        )
