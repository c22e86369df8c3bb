"""Reach a catalog service's cluster with lightkube and map API errors to Steward's rules.

One ``AsyncClient`` per cluster per process (per event loop). Errors: 403 is final and names
the verb and resource Steward lacks; 404 of an object that was snapshotted is final ("deleted
since the snapshot": Steward never re-creates it); 409 on a patch re-reads the object and
succeeds only when it already holds what the patch wanted (our own earlier attempt), and is
final otherwise; other 4xx are final; connection errors and 5xx are re-raised for the activity
to retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from lightkube import AsyncClient, ConfigError, KubeConfig
from lightkube.core.exceptions import ApiError
from lightkube.types import PatchType

from activities.actuators.registry import ActionRefusedError
from api.core.catalog import (
    Catalog,
    CatalogError,
    KubernetesCluster,
    KubernetesTarget,
)
from api.core.settings import Settings

FIELD_MANAGER = "steward"
_clients: dict[tuple[str, KubernetesCluster, float, int], AsyncClient] = {}


def catalog_of(settings: Settings) -> Catalog:
    """The service catalog of ``settings`` (``Settings.catalog()``), for the actuators.

    Raises:
        ActionRefusedError: It does not validate (the file changed since start-up).
    """
    try:
        return settings.catalog()
    except CatalogError as exc:
        raise ActionRefusedError(str(exc)) from None


def kube_target(settings: Settings, service: str) -> tuple[KubernetesTarget, KubernetesCluster]:
    """The Kubernetes target of catalog service ``service`` and the cluster it runs on.

    Raises:
        ActionRefusedError: The service is unknown or does not run on Kubernetes.
    """
    catalog = catalog_of(settings)
    try:
        target = catalog.service(service).target
    except KeyError as exc:
        raise ActionRefusedError(str(exc.args[0])) from None
    if not isinstance(target, KubernetesTarget):
        raise ActionRefusedError(
            f"service {service!r} does not run on Kubernetes (its target is {target.kind})"
        )
    return target, catalog.cluster(target.cluster)


def named_cluster(settings: Settings, name: str) -> KubernetesCluster:
    """The catalog cluster ``name``.

    Raises:
        ActionRefusedError: Naming the known clusters.
    """
    try:
        cluster: KubernetesCluster = catalog_of(settings).cluster(name)
    except KeyError as exc:
        raise ActionRefusedError(str(exc.args[0])) from None
    return cluster


def cluster_client(*, name: str, cluster: KubernetesCluster) -> AsyncClient:
    """The lightkube client of ``cluster``, built once per process, event loop and kubeconfig.

    Raises:
        ActionRefusedError: The kubeconfig cannot be read or lacks the context.
    """
    path = (cluster.kubeconfig or Path("~/.kube/config")).expanduser()
    try:
        # A rewritten kubeconfig (rotated credentials) gets a new client.
        mtime = 0.0 if cluster.in_cluster else path.stat().st_mtime
    except OSError as exc:
        raise ActionRefusedError(
            f"cannot read the kubeconfig of cluster {name!r} ({path}): {exc.strerror}"
        ) from None
    key = (name, cluster, mtime, id(asyncio.get_running_loop()))
    client = _clients.get(key)
    if client is not None:
        return client
    try:
        if cluster.in_cluster:
            config = KubeConfig.from_service_account()
        else:
            config = KubeConfig.from_file(path)
        single = config.get(context_name=cluster.context)
    except (ConfigError, OSError) as exc:
        raise ActionRefusedError(f"cannot configure a client for cluster {name!r}: {exc}") from None
    if single is None:
        raise ActionRefusedError(
            f"cluster {name!r}: no context {cluster.context!r} in its kubeconfig"
        )
    client = AsyncClient(config=single, field_manager=FIELD_MANAGER, trust_env=False)
    _clients[key] = client
    return client


def api_code(exc: BaseException) -> int | None:
    """The HTTP status of a Kubernetes API error, or None for anything else."""
    return exc.status.code if isinstance(exc, ApiError) else None


@asynccontextmanager
async def api_call(
    verb: str, resource: str, name: str, *, snapshotted: bool = False
) -> AsyncIterator[None]:
    """Map the API errors raised in the block (409 is left to the caller).

    Args:
        verb: The Kubernetes verb (``get``, ``patch``, ``delete``...), for the messages.
        resource: The resource as RBAC names it (``deployments.apps``, ``pods/eviction``).
        name: The object's name, or ``""`` for a collection.
        snapshotted: The object existed at the snapshot, so a 404 means it was deleted since.

    Raises:
        ActionRefusedError: 403, 404 and any other 4xx but 409.
    """
    try:
        yield
    except ApiError as exc:
        code, message = exc.status.code or 0, exc.status.message
        what = f"{resource} {name!r}" if name else resource
        if code == 403:
            raise ActionRefusedError(
                f"forbidden: Steward may not {verb} {resource}; grant the verb {verb!r} on "
                f"{resource!r} to its service account ({message})"
            ) from None
        if code == 404 and snapshotted:
            raise ActionRefusedError(
                f"{what} was deleted since the snapshot; Steward does not re-create it"
            ) from None
        if code == 404:
            raise ActionRefusedError(f"{what} not found") from None
        if code == 409 or code == 429 or code >= 500:
            raise
        raise ActionRefusedError(f"the API server refused to {verb} {what}: {message}") from None


async def guarded_patch(
    client: AsyncClient,
    res: Any,
    *,
    name: str,
    namespace: str | None,
    patch: dict[str, Any],
    version: str,
    holds: Callable[[Any], bool],
    patch_type: PatchType = PatchType.MERGE,
    dry_run: bool = False,
) -> Any:
    """Patch one object that was read at ``version``, never over a change we did not see.

    The patch carries ``metadata.resourceVersion: version``, so the API server refuses it with
    409 when the object changed since. Then the object is read again: when it already holds
    what this patch wanted (``holds``: our own earlier attempt, retried), that is success;
    otherwise the change was someone else's and the call is refused.

    Raises:
        ActionRefusedError: A conflict with another writer, or any final API error.
    """
    resource = resource_name(res)
    body = {**patch, "metadata": {**patch.get("metadata", {}), "resourceVersion": version}}
    try:
        async with api_call("patch", resource, name, snapshotted=True):
            return await client.patch(
                res, name, body, namespace=namespace, patch_type=patch_type, dry_run=dry_run
            )
    except ApiError as exc:
        if api_code(exc) != 409:
            raise
    async with api_call("get", resource, name, snapshotted=True):
        current = await client.get(res, name, namespace=namespace)
    if holds(current):
        return current
    raise ActionRefusedError(
        f"{resource} {name!r} changed since the snapshot (resourceVersion {version} is now "
        f"{current.metadata.resourceVersion}); decide again"
    )


def resource_name(res: Any) -> str:
    """``deployments.apps`` or ``pods``: how RBAC names a lightkube resource class."""
    info = res._api_info
    if info.action:
        return f"{info.plural}/{info.action}"
    group = info.resource.group
    return f"{info.plural}.{group}" if group else str(info.plural)
