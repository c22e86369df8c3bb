"""Parameter schemas of the shipped playbooks (``Playbook.params_model``).

An incident's ``params`` are checked against its playbook's schema when the incident opens
(``POST /api/v1/incidents``, alerts, monitors: one path) and again when its run starts, so a
bad value is refused before anything is applied instead of being discovered after an apply.
The models are strict: ``"abc"`` is not a number, ``true`` is not a number, NaN and infinity
are refused, every number is bounded, and an unknown key is an error, not a silent default.

Pydantic is imported here once, outside the workflow sandbox: workflow modules import this one
inside ``workflow.unsafe.imports_passed_through()``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# Seconds a verification may poll: finite, at least one poll, at most ten minutes.
VerifyWithin = Annotated[float, Field(ge=1, le=600, description="Seconds verification may poll")]
TenantName = Annotated[str, Field(min_length=1, max_length=200)]


class PlaybookParams(BaseModel):
    """Base of every playbook's parameters: strict types, finite numbers, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    def catalog_problems(self, *, catalog: Any, service: str) -> list[tuple[str, str]]:
        """What in these params the service catalog refuses, as ``(field, message)`` pairs.

        Checked when an incident opens, after the schema: the API answers 422 naming the
        field (and the known values) before anything starts. ``catalog`` is the running
        service catalog (``api.core.catalog.Catalog``) and ``service`` one of its services.
        """
        return []


class NoParams(PlaybookParams):
    """A playbook that takes no parameters."""


class HighLatencyParams(PlaybookParams):
    """Parameters of ``high_latency``."""

    replicas: int = Field(default=8, ge=1, le=50, description="Replicas to scale out to")
    p95_threshold_ms: float = Field(
        default=200, gt=0, le=600_000, description="p95 latency (ms) verification waits under"
    )
    verify_within_seconds: VerifyWithin = 20


class ErrorBurstParams(PlaybookParams):
    """Parameters of ``error_burst``."""

    max_error_ratio: float = Field(
        default=0.05, gt=0, le=1, description="Error ratio verification waits under"
    )
    verify_within_seconds: VerifyWithin = 20


class WebhookFailuresParams(PlaybookParams):
    """Parameters of ``webhook_failures`` (``delivery_watch`` fills in tenants and since)."""

    tenants: list[TenantName] = Field(
        default_factory=list, max_length=100, description="Tenants whose failures to replay"
    )
    tenant: TenantName | None = Field(default=None, description="One tenant (or use tenants)")
    since: str | None = Field(
        default=None,
        max_length=64,
        description="ISO 8601 time with a zone; default one hour before the incident window",
    )
    max_deliveries: int = Field(default=100, ge=1, le=1000, description="Per tenant")
    verify_within_seconds: VerifyWithin = 20

    @field_validator("since")
    @classmethod
    def _aware_time(cls, since: str | None) -> str | None:
        if since is None:
            return None
        try:
            parsed = datetime.fromisoformat(since)
        except ValueError:
            raise ValueError("must be an ISO 8601 time, e.g. 2026-01-01T00:00:00+00:00") from None
        if parsed.tzinfo is None:
            raise ValueError("must name its time zone, e.g. +00:00")
        return since


# A Kubernetes object name (RFC 1123 subdomain) and a resource quantity in canonical form.
KUBE_NAME = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$"


class K8sCrashloopRollbackParams(PlaybookParams):
    """Parameters of ``k8s_crashloop_rollback``."""

    revision: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Revision to roll back to; default previous"
    )
    min_ready: int = Field(default=1, ge=1, le=10_000, description="Pods that must be ready")
    verify_within_seconds: VerifyWithin = 180


class K8sHighLatencyParams(PlaybookParams):
    """Parameters of ``k8s_high_latency``."""

    replicas: int = Field(default=8, ge=1, le=1000, description="Replicas to scale out to")
    query_name: str = Field(
        default="p95_ms",
        min_length=1,
        max_length=100,
        description="The service's catalog query that verification reads",
    )
    threshold: float = Field(
        default=200, ge=-1e12, le=1e12, description="Every sample must fall below it"
    )
    verify_within_seconds: VerifyWithin = 120


def _known(values: Any) -> str:
    return ", ".join(sorted(values)) or "none"


class K8sOomRaiseMemoryParams(PlaybookParams):
    """Parameters of ``k8s_oom_raise_memory``."""

    container: str = Field(pattern=KUBE_NAME, max_length=63, description="The container")
    memory_limit: str = Field(
        pattern=QUANTITY, max_length=32, description="The new memory limit, e.g. 1Gi"
    )
    memory_request: str | None = Field(
        default=None, pattern=QUANTITY, max_length=32, description="The new memory request"
    )
    min_ready: int = Field(default=1, ge=1, le=10_000, description="Pods that must be ready")
    verify_within_seconds: VerifyWithin = 180

    def catalog_problems(self, *, catalog: Any, service: str) -> list[tuple[str, str]]:
        """The container must be one the catalog lets actions change, when it names them."""
        allowed = getattr(catalog.service(service).target, "containers", None) or []
        if allowed and self.container not in allowed:
            return [
                (
                    "container",
                    f"unknown container {self.container!r} for service {service!r}; "
                    f"the catalog lets actions change: {_known(allowed)}",
                )
            ]
        return []


class K8sNodeDrainParams(PlaybookParams):
    """Parameters of ``k8s_node_drain``."""

    cluster: str = Field(min_length=1, max_length=100, description="The catalog cluster")
    node: str = Field(pattern=KUBE_NAME, max_length=253, description="The node to drain")
    deadline: float = Field(
        default=300, gt=0, le=3600, description="Seconds the drain may wait on disruption budgets"
    )
    verify_within_seconds: VerifyWithin = 60

    def catalog_problems(self, *, catalog: Any, service: str) -> list[tuple[str, str]]:
        """The cluster must be one of the catalog's."""
        if self.cluster not in catalog.clusters:
            known = _known(catalog.clusters)
            return [("cluster", f"unknown cluster {self.cluster!r}; known clusters: {known}")]
        return []


def param_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """The errors of a failed check as plain JSON: ``loc`` (inside params), ``msg``, ``type``.

    Pydantic's own error dicts carry the rejected input and a context that may not be JSON
    (NaN, exceptions); these never do.
    """
    return [
        {"loc": [str(p) for p in error["loc"]], "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]


def describe_errors(errors: list[dict[str, Any]]) -> str:
    """One line naming each bad field: ``params.replicas: Input should be a valid integer``."""
    return "; ".join(
        f"params.{'.'.join(e['loc'])}: {e['msg']}" if e["loc"] else f"params: {e['msg']}"
        for e in errors
    )
