"""``steward targets check``: may Steward's credentials do what its Kubernetes actions need?

For every Kubernetes cluster of the service catalog, each permission that
``activities.actuators.kubernetes.permissions`` declares is put to the cluster as a
``SelfSubjectAccessReview`` (authorization.k8s.io/v1): the cluster-wide ones (nodes, pods across
namespaces, evictions) once, the per-namespace ones once for every namespace the cluster's
services use. The API server answers with what its authorizers (RBAC...) decide for the very
credentials the actuators use, so the report is the truth of that cluster, not of a manifest.

Every cluster's kubeconfig and context are checked before anything is asked, so a bad catalog
or kubeconfig is reported alone (:class:`TargetsConfigError`), never half a report.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx2
from lightkube import AsyncClient, ConfigError, KubeConfig
from lightkube.config.kubeconfig import SingleConfig
from lightkube.core.exceptions import ApiError
from lightkube.models.authorization_v1 import ResourceAttributes, SelfSubjectAccessReviewSpec
from lightkube.resources.authorization_v1 import SelfSubjectAccessReview

from activities.actuators.kubernetes.permissions import Permission, needed_by, required
from api.core.catalog import Catalog, CatalogError, KubernetesCluster, KubernetesTarget
from api.core.kubeconfig import kubeconfig_path
from api.core.settings import Settings

__all__ = ["Access", "ClusterProblem", "TargetsConfigError", "TargetsReport", "check_targets"]


class TargetsConfigError(ValueError):
    """The catalog does not validate, or a cluster's kubeconfig or context is unusable."""


@dataclass(frozen=True)
class Access:
    """One permission asked of one cluster, and its answer.

    Attributes:
        cluster: The catalog cluster.
        namespace: The namespace asked about; ``""`` for a cluster-wide permission.
        group: The API group (``""`` for the core group).
        resource: The resource, with its subresource (``pods/eviction``).
        verb: The verb.
        allowed: What the cluster answered.
        reason: The authorizer's reason, when it gave one.
        needed_by: The actuators and checks that use it.
    """

    cluster: str
    namespace: str
    group: str
    resource: str
    verb: str
    allowed: bool
    reason: str
    needed_by: list[str]


@dataclass(frozen=True)
class ClusterProblem:
    """A cluster that could not answer: unreachable (exit 3) or refusing the credentials (2)."""

    cluster: str
    message: str
    exit_code: int


@dataclass
class TargetsReport:
    """What every cluster answered.

    Attributes:
        catalog: Where the catalog was read from.
        kubernetes_services: How many of its services run on Kubernetes.
        namespaces: The namespaces asked about, by cluster.
        accesses: Every answer, by cluster, namespace, resource and verb.
        problems: The clusters that could not answer.
    """

    catalog: str
    kubernetes_services: int
    namespaces: dict[str, list[str]] = field(default_factory=dict)
    accesses: list[Access] = field(default_factory=list)
    problems: list[ClusterProblem] = field(default_factory=list)

    @property
    def missing(self) -> list[Access]:
        """The permissions a cluster denied."""
        return [a for a in self.accesses if not a.allowed]

    @property
    def exit_code(self) -> int:
        """2 credentials refused, 3 a cluster unreachable, 1 something missing, else 0."""
        codes = {p.exit_code for p in self.problems}
        for code in (2, 3):
            if code in codes:
                return code
        return 1 if self.missing else 0


def _catalog(settings: Settings) -> Catalog:
    try:
        catalog = settings.catalog()
        catalog.check_reachable_config()
    except CatalogError as exc:
        raise TargetsConfigError(str(exc)) from None
    return catalog


def _client_config(name: str, cluster: KubernetesCluster) -> SingleConfig:
    """The cluster's kubeconfig context, as the actuators' client reads it."""
    try:
        if cluster.in_cluster:
            config = KubeConfig.from_service_account()
        else:
            config = KubeConfig.from_file(kubeconfig_path(cluster.kubeconfig))
        single = config.get(context_name=cluster.context)
    except (ConfigError, OSError, ValueError) as exc:
        raise TargetsConfigError(f"cannot configure a client for cluster {name!r}: {exc}") from None
    if single is None:
        raise TargetsConfigError(f"cluster {name!r}: no context {cluster.context!r}")
    return single


def _review(p: Permission, verb: str, namespace: str) -> SelfSubjectAccessReview:
    resource, _, subresource = p.resource.partition("/")
    attributes = ResourceAttributes(
        group=p.group,
        resource=resource,
        subresource=subresource or None,
        verb=verb,
        namespace=namespace or None,
    )
    return SelfSubjectAccessReview(spec=SelfSubjectAccessReviewSpec(resourceAttributes=attributes))


def _questions(namespaces: list[str]) -> list[tuple[Permission, str, str]]:
    """Every (permission, verb, namespace) to ask one cluster."""
    asked = []
    for p in required():
        for verb in p.verbs:
            for namespace in [""] if p.scope == "cluster" else namespaces:
                asked.append((p, verb, namespace))
    return asked


async def _ask_cluster(
    name: str, config: SingleConfig, namespaces: list[str], timeout: float
) -> list[Access] | ClusterProblem:
    questions = _questions(namespaces)
    client = AsyncClient(config=config, trust_env=False, timeout=httpx2.Timeout(timeout))
    try:
        answers: list[Any] = await asyncio.gather(
            *(client.create(_review(p, verb, ns)) for p, verb, ns in questions),
            return_exceptions=True,
        )
    finally:
        await client.close()
    accesses = []
    for (p, verb, namespace), answer in zip(questions, answers, strict=True):
        if isinstance(answer, httpx2.TransportError):
            return ClusterProblem(name, f"cluster {name!r} cannot be reached: {answer}", 3)
        if isinstance(answer, ApiError):
            code = answer.status.code or 0
            message = (
                f"cluster {name!r} refused the access review ({code}): {answer.status.message}"
            )
            return ClusterProblem(name, message, 2 if code in (401, 403) else 3)
        if isinstance(answer, BaseException):
            raise answer
        status = answer.status
        accesses.append(
            Access(
                cluster=name,
                namespace=namespace,
                group=p.group,
                resource=p.resource,
                verb=verb,
                allowed=bool(status and status.allowed),
                reason=(status.reason or "") if status else "",
                needed_by=needed_by(scope=p.scope, group=p.group, resource=p.resource, verb=verb),
            )
        )
    return accesses


async def check_targets(*, settings: Settings, timeout: float = 10.0) -> TargetsReport:
    """Ask every catalog cluster whether Steward may do each declared permission.

    Args:
        settings: Whose catalog to check.
        timeout: Seconds each request may take.

    Returns:
        The answers; a catalog without Kubernetes services or clusters gives an empty report.

    Raises:
        TargetsConfigError: The catalog does not validate, or a cluster's kubeconfig or
            context cannot be used (checked before any cluster is asked).
    """
    catalog = _catalog(settings)
    namespaces: dict[str, set[str]] = {name: set() for name in catalog.clusters}
    services = 0
    for service in catalog.services.values():
        if isinstance(service.target, KubernetesTarget):
            services += 1
            namespaces[service.target.cluster].add(service.target.namespace)
    configs = {name: _client_config(name, c) for name, c in sorted(catalog.clusters.items())}
    report = TargetsReport(
        catalog=catalog.source,
        kubernetes_services=services,
        namespaces={name: sorted(ns) for name, ns in sorted(namespaces.items())},
    )
    results = await asyncio.gather(
        *(_ask_cluster(n, c, report.namespaces[n], timeout) for n, c in configs.items())
    )
    for result in results:
        if isinstance(result, ClusterProblem):
            report.problems.append(result)
        else:
            report.accesses.extend(result)
    return report
