"""The service catalog: every service Steward may act on, its owners, and how to reach it.

One YAML file (``STEWARD_CATALOG``, e.g. ``steward.yaml``; the format is in docs/catalog.md
and ``steward.example.yaml`` is a full example): ``clusters`` (a kubeconfig file and context,
or ``in_cluster``) and ``services``, each with its environment, owners, target (``kubernetes``,
``http`` or ``demo``) and named PromQL queries. A catalog that does not validate is refused
whole, with the file, the service and the field in the message (:class:`CatalogError`);
:meth:`Catalog.check_reachable_config` checks kubeconfig files and contexts at start-up.
Which catalog a process uses (the file, or the deprecated ``STEWARD_TARGETS``) is
:mod:`api.core.catalog_sources`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from api.core.kubeconfig import check_kubeconfig

T = TypeVar("T")

__all__ = [
    "Catalog",
    "CatalogError",
    "DemoTarget",
    "HttpTarget",
    "KubernetesCluster",
    "KubernetesTarget",
    "NoAdminUrlError",
    "Service",
    "WorkloadRef",
    "load_catalog",
]

NAME = r"^[a-z0-9]([a-z0-9._-]{0,98}[a-z0-9])?$"
# Kubernetes names (RFC 1123 labels and subdomains).
KUBE_NAME = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"


class CatalogError(ValueError):
    """The catalog file cannot be read or does not validate; the message names file and field."""


class NoAdminUrlError(ValueError):
    """An HTTP actuator was pointed at a service that has no admin URL (a Kubernetes one)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KubernetesCluster(_Strict):
    """How to reach one cluster: a kubeconfig file and context, or the pod's service account.

    Attributes:
        kubeconfig: The kubeconfig file (``~`` expanded); the client's default when omitted.
        context: The context in that file; its current context when omitted.
        in_cluster: Use the service account of the pod Steward runs in (no kubeconfig).
    """

    kubeconfig: Path | None = None
    context: str | None = None
    in_cluster: bool = False

    @model_validator(mode="after")
    def _one_way(self) -> KubernetesCluster:
        if self.in_cluster and (self.kubeconfig is not None or self.context is not None):
            raise ValueError("in_cluster excludes kubeconfig and context")
        return self


class WorkloadRef(_Strict):
    """One workload: its kind and name."""

    kind: Literal["Deployment", "StatefulSet", "DaemonSet"]
    name: str = Field(pattern=KUBE_NAME)


class KubernetesTarget(_Strict):
    """A service that runs on Kubernetes.

    Attributes:
        cluster: A key of the catalog's ``clusters``.
        namespace: The namespace its objects live in.
        workload: Its workload, when it has one; ``selector`` must then be omitted or match.
        selector: Labels that select its pods (and, without ``workload``, what acts on it).
        containers: Its containers that actions may change (all when empty).
    """

    kind: Literal["kubernetes"]
    cluster: str
    namespace: str = Field(pattern=KUBE_NAME)
    workload: WorkloadRef | None = None
    selector: dict[str, str] = Field(default_factory=dict)
    containers: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something_to_act_on(self) -> KubernetesTarget:
        if self.workload is None and not self.selector:
            raise ValueError("give a workload or a selector")
        return self


class HttpTarget(_Strict):
    """A service reached through its admin API over HTTP (what ``STEWARD_TARGETS`` held)."""

    kind: Literal["http"]
    url: str = Field(pattern=r"^https?://[^\s]+$")


class DemoTarget(_Strict):
    """Steward's built-in demo target (``STEWARD_DEMO_PORT``)."""

    kind: Literal["demo"]


Target = Annotated[KubernetesTarget | HttpTarget | DemoTarget, Field(discriminator="kind")]


class Service(_Strict):
    """One service: who owns it, where it runs, and the queries its checks use.

    Attributes:
        environment: ``production``, ``staging``... (the policy decides by it).
        owners: The teams that own it (the policy lets them approve).
        target: How Steward reaches it.
        queries: Named PromQL queries (``prometheus.query`` checks refer to them by name).
    """

    environment: str = Field(default="development", pattern=NAME)
    owners: list[str] = Field(default_factory=list)
    target: Target
    queries: dict[str, str] = Field(default_factory=dict)


class Catalog(_Strict):
    """The whole catalog; :meth:`service` and :meth:`cluster` name the known ones on a miss.

    Attributes:
        clusters: Kubernetes clusters by name.
        services: Services by name.
        source: Where it was read from (the file, or ``STEWARD_TARGETS``), for messages.
    """

    clusters: dict[str, KubernetesCluster] = Field(default_factory=dict)
    services: dict[Annotated[str, Field(pattern=NAME)], Service] = Field(default_factory=dict)
    # Services no catalog file declared (the built-in demo, STEWARD_TARGETS entries): their
    # environment and owners still come from the policy's data.json, as before the catalog.
    _undeclared: frozenset[str] = PrivateAttr(default=frozenset())
    _source: str = PrivateAttr(default="the service catalog")

    @property
    def source(self) -> str:
        """The file the catalog was read from, or what it was built from."""
        return self._source

    def with_origin(self, *, source: str, undeclared: frozenset[str] = frozenset()) -> Catalog:
        """A copy that names its ``source`` and the services it does not declare facts for.

        Args:
            source: The file, or ``STEWARD_TARGETS``.
            undeclared: Services whose environment and owners the policy data decides.
        """
        copy = self.model_copy()
        copy._source = source
        copy._undeclared = undeclared
        return copy

    def policy_facts(self, name: str) -> dict[str, Any] | None:
        """The environment and owners the policy reads for ``name``.

        Returns:
            ``{"environment": ..., "owners": [...]}`` for a service a catalog file declares;
            None for an unknown one and for one it does not declare (the built-in demo,
            ``STEWARD_TARGETS`` entries): the policy then reads its ``data.json``.
        """
        service = self.services.get(name)
        if service is None or name in self._undeclared:
            return None
        return {"environment": service.environment, "owners": list(service.owners)}

    def check_reachable_config(self) -> None:
        """Check that every cluster not ``in_cluster`` has its kubeconfig file and context.

        The file is the cluster's ``kubeconfig`` (``~`` expanded), else ``~/.kube/config``;
        a named context must be one of the file's ``contexts[].name``.

        Raises:
            CatalogError: One line naming the catalog, the cluster, the file and the context.
        """
        files = {name: c for name, c in self.clusters.items() if not c.in_cluster}
        for name, cluster in sorted(files.items()):
            if (problem := check_kubeconfig(cluster.kubeconfig, cluster.context)) is not None:
                raise CatalogError(f"service catalog {self.source}: clusters.{name}: {problem}")

    @model_validator(mode="after")
    def _clusters_exist(self) -> Catalog:
        for name, service in self.services.items():
            target = service.target
            if isinstance(target, KubernetesTarget) and target.cluster not in self.clusters:
                known = ", ".join(sorted(self.clusters)) or "none"
                raise ValueError(
                    f"services.{name}.target.cluster: unknown cluster {target.cluster!r} "
                    f"(known clusters: {known})"
                )
        return self

    def service(self, name: str) -> Service:
        """The service ``name``.

        Raises:
            KeyError: Naming the known services.
        """
        return _lookup(self.services, "service", name)

    def cluster(self, name: str) -> KubernetesCluster:
        """The cluster ``name``.

        Raises:
            KeyError: Naming the known clusters.
        """
        return _lookup(self.clusters, "cluster", name)


def _lookup(items: Mapping[str, T], kind: str, name: str) -> T:
    """``items[name]``, or a KeyError that names the known ones."""
    try:
        return items[name]
    except KeyError:
        known = ", ".join(sorted(items)) or "none"
        raise KeyError(f"unknown {kind} {name!r}; known {kind}s: {known}") from None


def _one_line(text: str) -> str:
    # YAML errors span lines (a caret under the column): start-up errors are one line.
    return " ".join(text.split())


def _field_errors(path: Path, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        message = str(err["msg"]).removeprefix("Value error, ")
        # Drop the union's tag from the path: target.namespace, not target.kubernetes.namespace.
        loc = [p for i, p in enumerate(err["loc"]) if not (i and err["loc"][i - 1] == "target")]
        where = ".".join(str(p) for p in loc)
        # A whole-catalog check names its own field (services.<name>.target.cluster).
        problems.append(f"{where}: {message}" if where else message)
    return f"invalid service catalog {path}: {'; '.join(problems)}"


def parse_catalog(path: Path) -> Catalog:
    """Read and validate the catalog at ``path``.

    Raises:
        CatalogError: It cannot be read, is not YAML, or does not validate (the message names
            the file and each field, e.g. ``services.checkout.target.namespace``).
    """
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise CatalogError(f"cannot read the service catalog {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(
            _one_line(f"the service catalog {path} is not valid YAML: {exc}")
        ) from None
    if not isinstance(document, dict):
        raise CatalogError(f"the service catalog {path} must be a mapping with services:")
    try:
        catalog = Catalog.model_validate(document)
    except ValidationError as exc:
        raise CatalogError(_one_line(_field_errors(path, exc))) from None
    return catalog.with_origin(source=str(path))


_cache: dict[Path, tuple[float, Catalog]] = {}
_lock = threading.Lock()


def load_catalog(path: Path) -> Catalog:
    """The catalog at ``path``, read again only when the file changed.

    Raises:
        CatalogError: See :func:`parse_catalog`.
    """
    resolved = path.expanduser().resolve()
    try:
        mtime = resolved.stat().st_mtime
    except OSError as exc:
        raise CatalogError(f"cannot read the service catalog {path}: {exc.strerror}") from None
    with _lock:
        cached = _cache.get(resolved)
        if cached is not None and cached[0] == mtime:
            return cached[1]
    catalog = parse_catalog(resolved)
    with _lock:
        _cache[resolved] = (mtime, catalog)
    return catalog
