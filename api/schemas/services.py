"""Response bodies of the service catalog route (``GET /api/v1/services``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field


class WorkloadOut(BaseModel):
    """A Kubernetes workload: its kind and name."""

    kind: str
    name: str


class KubernetesTargetOut(BaseModel):
    """A service on Kubernetes: how the catalog reaches its cluster, and what acts on it."""

    kind: Literal["kubernetes"] = "kubernetes"
    cluster: str
    context: str | None = Field(
        description="The kubeconfig context; null for the file's current one or in_cluster"
    )
    in_cluster: bool = Field(description="Reached with the service account of Steward's pod")
    namespace: str
    workload: WorkloadOut | None
    selector: dict[str, str]
    containers: list[str] = Field(description="Containers actions may change; empty for all")


class HttpTargetOut(BaseModel):
    """A service reached through its admin API over HTTP."""

    kind: Literal["http"] = "http"
    url: str = Field(description="Base URL of its admin API, without any user or password")


class DemoTargetOut(BaseModel):
    """Steward's built-in demo target."""

    kind: Literal["demo"] = "demo"


TargetOut = Annotated[
    KubernetesTargetOut | HttpTargetOut | DemoTargetOut, Field(discriminator="kind")
]


class ServiceOut(BaseModel):
    """One service of the catalog."""

    name: str
    environment: str
    owners: list[str]
    target: TargetOut
    queries: dict[str, str] = Field(description="Query name -> PromQL, for its checks")
    declared: bool = Field(
        description="False for the built-in demo and STEWARD_TARGETS entries, whose "
        "environment and owners the policy's data.json decides"
    )
