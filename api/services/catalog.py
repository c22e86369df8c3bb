"""The service catalog as the API shows it: every service, its target, never a file's contents."""

from __future__ import annotations

import re

from api.core.catalog import Catalog, HttpTarget, KubernetesTarget
from api.core.settings import Settings
from api.schemas.services import (
    DemoTargetOut,
    HttpTargetOut,
    KubernetesTargetOut,
    ServiceOut,
    TargetOut,
    WorkloadOut,
)

__all__ = ["known_service", "list_services"]

# user:password@ in a URL is a credential: listing it would hand it to every reader.
_USERINFO = re.compile(r"^(https?://)[^/@]*@")


def _target_out(catalog: Catalog, name: str) -> TargetOut:
    target = catalog.service(name).target
    if isinstance(target, KubernetesTarget):
        cluster = catalog.cluster(target.cluster)
        return KubernetesTargetOut(
            cluster=target.cluster,
            context=cluster.context,
            in_cluster=cluster.in_cluster,
            namespace=target.namespace,
            workload=WorkloadOut(**target.workload.model_dump()) if target.workload else None,
            selector=dict(target.selector),
            containers=list(target.containers),
        )
    if isinstance(target, HttpTarget):
        return HttpTargetOut(url=_USERINFO.sub(r"\1", target.url))
    return DemoTargetOut()


def list_services(*, settings: Settings) -> list[ServiceOut]:
    """Every service of the catalog, by name.

    Raises:
        CatalogError: The catalog does not validate (it changed since start-up).
    """
    catalog = settings.catalog()
    return [
        ServiceOut(
            name=name,
            environment=service.environment,
            owners=list(service.owners),
            target=_target_out(catalog, name),
            queries=dict(service.queries),
            declared=catalog.policy_facts(name) is not None,
        )
        for name, service in sorted(catalog.services.items())
    ]


def known_service(*, settings: Settings, name: str) -> None:
    """Check that ``name`` is a service of the catalog.

    Raises:
        KeyError: Unknown service, naming the known ones.
        CatalogError: The catalog does not validate.
    """
    settings.catalog().service(name)
