"""``k8s.rollback``: a Deployment back to an earlier revision, as ``kubectl rollout undo``.

A Deployment's history is its ReplicaSets: each one it owns carries the revision it was in the
``deployment.kubernetes.io/revision`` annotation and that revision's pod template. Rolling back
copies a revision's template (less the ``pod-template-hash`` label the controller adds) into
the Deployment; the controller then rolls it out as a new revision.
"""

from __future__ import annotations

from typing import Any

from lightkube.resources.apps_v1 import ReplicaSet
from pydantic import BaseModel, Field

from activities.actuators.kubernetes.changes import (
    change,
    dry_run_diff,
    outcome,
    restore,
    snapshot_version,
)
from activities.actuators.kubernetes.client import api_call
from activities.actuators.kubernetes.diff import merge_patch_between
from activities.actuators.kubernetes.objects import ServiceObjects, as_dict, service_objects
from activities.actuators.registry import ActionRefusedError, Actuator, ActuatorContext, actuator

REVISION = "deployment.kubernetes.io/revision"
HASH = "pod-template-hash"


class RollbackParams(BaseModel):
    """The service, and the revision to return to (the previous one when omitted)."""

    service: str = Field(min_length=1, max_length=100)
    revision: int | None = Field(default=None, ge=1)


def template_of(obj: Any) -> dict[str, Any]:
    """An object's pod template as JSON, without the controller's ``pod-template-hash``."""
    template: dict[str, Any] = as_dict(obj).get("spec", {}).get("template", {})
    labels = template.get("metadata", {}).get("labels")
    if labels and HASH in labels:
        labels.pop(HASH)
    return template


async def history(objs: ServiceObjects, deployment: Any) -> dict[int, dict[str, Any]]:
    """The Deployment's revisions: revision number -> pod template, from its ReplicaSets."""
    uid = deployment.metadata.uid
    labels: dict[str, Any] = dict(deployment.spec.selector.matchLabels or {})
    async with api_call("list", "replicasets.apps", ""):
        sets: list[Any] = [
            rs async for rs in objs.client.list(ReplicaSet, namespace=objs.namespace, labels=labels)
        ]
    revisions: dict[int, dict[str, Any]] = {}
    for rs in sets:
        owners = rs.metadata.ownerReferences or []
        revision = (rs.metadata.annotations or {}).get(REVISION)
        if revision and any(o.uid == uid and o.controller for o in owners):
            revisions[int(revision)] = template_of(rs)
    return revisions


async def rollback_target(
    objs: ServiceObjects, p: RollbackParams
) -> tuple[Any, str, Any, int, int, dict[str, Any]]:
    """The Deployment, its current revision, and the revision and template to return to.

    Raises:
        ActionRefusedError: No such revision, no earlier one, or it is the current template.
    """
    res, name = objs.workload(kinds=("Deployment",))
    deployment = await objs.read(res, name, snapshotted=True)
    revisions = await history(objs, deployment)
    current_template = template_of(deployment)
    matching = [r for r, t in revisions.items() if t == current_template]
    annotated = (deployment.metadata.annotations or {}).get(REVISION)
    current = int(annotated) if annotated else max(matching or revisions or [0])
    if p.revision is not None:
        if p.revision not in revisions:
            known = ", ".join(map(str, sorted(revisions))) or "none"
            raise ActionRefusedError(f"{name!r} has no revision {p.revision} (it has {known})")
        target = p.revision
    else:
        earlier = [r for r in revisions if r < current]
        if not earlier:
            raise ActionRefusedError(f"{name!r} has no revision before {current} to roll back to")
        target = max(earlier)
    return res, name, deployment, current, target, revisions[target]


@actuator("k8s.rollback", tier="critical", params=RollbackParams)
class Rollback(Actuator[RollbackParams]):
    """Roll a Deployment back to an earlier revision; undo rolls forward to the snapshot's."""

    async def snapshot(self, ctx: ActuatorContext, p: RollbackParams) -> dict[str, Any]:
        """Record the current template and revision, and the template rolled back to."""
        objs = service_objects(ctx.settings, p.service)
        res, name, deployment, current, target, template = await rollback_target(objs, p)
        return outcome(
            objs,
            res,
            name,
            deployment,
            revision=current,
            template=template_of(deployment),
            target_revision=target,
            target=template,
        )

    async def apply(self, ctx: ActuatorContext, p: RollbackParams) -> dict[str, Any]:
        """Copy the chosen revision's template into the Deployment."""
        objs = service_objects(ctx.settings, p.service)
        res, name, deployment, _, target, template = await rollback_target(objs, p)
        patch = {"spec": {"template": merge_patch_between(template_of(deployment), template)}}
        _, after = await change(
            objs,
            res,
            name,
            patch=patch,
            holds=lambda o: template_of(o) == template,
            since=snapshot_version(ctx.before),
        )
        return outcome(objs, res, name, after, revision=target)

    async def undo(
        self, ctx: ActuatorContext, p: RollbackParams, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Put the snapshot's template back, unless the Deployment changed since the rollback."""
        objs = service_objects(ctx.settings, p.service)
        res, name = objs.workload(kinds=("Deployment",))
        old, ours = before["template"], before["target"]
        current = await objs.read(res, name, snapshotted=True)
        patch = {"spec": {"template": merge_patch_between(template_of(current), old)}}
        after = await restore(
            objs,
            res,
            name,
            patch=patch,
            restored=lambda o: template_of(o) == old,
            ours=lambda o: template_of(o) == ours,
        )
        return outcome(objs, res, name, after, revision=before["revision"])

    async def diff(self, ctx: ActuatorContext, p: RollbackParams) -> list[dict[str, Any]]:
        """What apply would change, from the API server's dry run (writes nothing)."""
        objs = service_objects(ctx.settings, p.service)
        res, name, deployment, _, _, template = await rollback_target(objs, p)
        patch = {"spec": {"template": merge_patch_between(template_of(deployment), template)}}
        return await dry_run_diff(objs, res, name, patch=patch)

    def plan(self, p: RollbackParams) -> str:
        """Describe the change."""
        to = f"revision {p.revision}" if p.revision else "the previous revision"
        return f"roll the Deployment of service {p.service!r} back to {to}"
