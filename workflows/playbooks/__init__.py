"""The shipped playbooks, by the name incidents use to pick one."""

from workflows.playbook import Playbook
from workflows.playbooks.error_burst import ErrorBurst
from workflows.playbooks.high_latency import HighLatency
from workflows.playbooks.webhook_failures import WebhookFailures

PLAYBOOKS: dict[str, type[Playbook]] = {
    "high_latency": HighLatency,
    "error_burst": ErrorBurst,
    "webhook_failures": WebhookFailures,
}

__all__ = ["PLAYBOOKS", "ErrorBurst", "HighLatency", "WebhookFailures"]
