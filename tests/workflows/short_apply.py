"""A ``webhook_failures`` whose apply times out fast (own module: workflows are sandboxed)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.playbooks.webhook_failures import WebhookFailures
from workflows.types import IncidentInput, PlaybookOutcome


@workflow.defn(name="test_webhook_failures_short_apply")
class ShortApply(WebhookFailures):
    """``webhook_failures`` whose apply times out after 1.5 s: a slow sender outlasts it once."""

    apply_timeout = timedelta(seconds=1.5)

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run the playbook."""
        return await self.execute(incident)
