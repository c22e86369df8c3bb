"""``k8s_oom_raise_memory`` end to end: REST, a real worker, the shipped policy, the stand-in.

Nothing is faked: the incident opens through the API, the worker's gate asks the shipped policy
(which wants approval for ``k8s.set_resources``), the preview is the stand-in API server's
server-side dry run, the approval is a vote through the API, and the actuator patches the
stand-in's Deployment. A small controller in the test rolls each new generation out, as a
cluster's would, but the pods never become ready: the verification fails and the change is
rolled back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.cli.audit_render import card_lines
from api.core.settings import Settings
from api.ledger.keys import ledger_verifier
from api.services.audit.card import decision_card
from tests.api.services.audit.helpers import ledger
from tests.support.kube_api import KubeStore, running_kube_api, seed, write_kubeconfig
from tests.workflows.helpers import wait_for_approval

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]

SHOP = "shop"
MEMORY = "spec.template.spec.containers[app].resources.limits.memory"


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[tuple[KubeStore, Path]]:
    """The stand-in API server with a ``checkout`` Deployment, and a catalog pointing at it."""
    store = KubeStore()
    labels = {"app": "checkout"}
    seed.workload(store, name="checkout", namespace=SHOP, labels=labels, containers=("app",))
    for name in ("checkout-a", "checkout-b"):
        seed.pod(store, name=name, namespace=SHOP, labels=labels, ready=False)
    with running_kube_api(store) as url:
        kubeconfig = write_kubeconfig(tmp_path, server=url)
        catalog = {
            "clusters": {"standin": {"kubeconfig": str(kubeconfig), "context": "standin"}},
            "services": {
                "checkout": {
                    # staging: warn actions need no approval here, so the approval asked is
                    # the one the policy data wants for k8s.set_resources itself.
                    "environment": "staging",
                    "owners": ["team-payments"],
                    "target": {
                        "kind": "kubernetes",
                        "cluster": "standin",
                        "namespace": SHOP,
                        "workload": {"kind": "Deployment", "name": "checkout"},
                        "containers": ["app"],
                    },
                }
            },
        }
        path = tmp_path / "catalog.yaml"
        path.write_text(yaml.safe_dump(catalog))
        yield store, path


@pytest.fixture
def steward_env(steward_env: dict[str, str], standin: tuple[KubeStore, Path]) -> dict[str, str]:
    """The suite's environment plus the catalog of the stand-in."""
    return {**steward_env, "STEWARD_CATALOG": str(standin[1])}


@pytest_asyncio.fixture(loop_scope="session")
async def controller(standin: tuple[KubeStore, Path]) -> AsyncIterator[None]:
    """The Deployment controller's part: each new generation is rolled out (status updated).

    Its pods stay unready, as pods whose new memory limit did not help would.
    """
    store, _ = standin

    async def reconcile() -> None:
        while True:
            obj = store.get("deployments", SHOP, "checkout")
            if obj is not None:
                generation = obj["metadata"]["generation"]
                if obj.get("status", {}).get("observedGeneration") != generation:
                    store.update("deployments", SHOP, "checkout", {"status": seed.rolled_out(obj)})
            await asyncio.sleep(0.05)

    task = asyncio.create_task(reconcile())
    yield
    task.cancel()


def memory_limit(store: KubeStore) -> str:
    deployment = store.get("deployments", SHOP, "checkout")
    assert deployment is not None
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return str(container["resources"]["limits"]["memory"])


async def wait_for_status(api: httpx.AsyncClient, incident_id: str, key: str) -> dict[str, Any]:
    """Poll the incident until its run has ended."""
    for _ in range(300):
        body: dict[str, Any] = (
            await api.get(f"/api/v1/incidents/{incident_id}", headers={"X-API-Key": key})
        ).json()
        if body["status"] in {"resolved", "rolled_back", "failed", "denied", "rejected"}:
            return body
        await asyncio.sleep(0.2)
    raise TimeoutError(f"incident {incident_id} did not end")


async def test_oom_playbook_asks_with_the_diff_applies_fails_verification_and_rolls_back(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    api_url: str,
    api_keys: dict[str, str],
    standin: tuple[KubeStore, Path],
    controller: None,
) -> None:
    store, _ = standin
    assert memory_limit(store) == "256Mi"
    params = {"container": "app", "memory_limit": "512Mi", "verify_within_seconds": 2}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        opened = await api.post(
            "/api/v1/incidents",
            json={
                "service": "checkout",
                "signal": "oom_killed",
                "severity": "high",
                "playbook": "k8s_oom_raise_memory",
                "params": params,
            },
            headers={"X-API-Key": api_keys["operator"]},
        )
        assert opened.status_code == 201, opened.text
        incident_id = opened.json()["id"]

        # The gate asked for approval and showed the dry run's diff; nothing is written yet.
        approval = await wait_for_approval(engine, incident_id)
        assert approval.actuator == "k8s.set_resources"
        assert approval.diff == {"changes": [{"path": MEMORY, "before": "256Mi", "after": "512Mi"}]}
        assert memory_limit(store) == "256Mi"
        assert [w for w in store.writes if w.resource == "deployments"] == []

        # The opener may not approve; a second operator does.
        decide = f"/api/v1/approvals/{approval.id}/decision"
        own = await api.post(
            decide, json={"decision": "approve"}, headers={"X-API-Key": api_keys["operator"]}
        )
        assert own.status_code == 403, own.text
        voted = await api.post(
            decide,
            json={"decision": "approve", "comment": "raise it"},
            headers={"X-API-Key": api_keys["operator2"]},
        )
        assert voted.status_code == 200, voted.text
        incident = await wait_for_status(api, incident_id, api_keys["auditor"])

    assert incident["status"] == "rolled_back", incident
    # Applied (one patch to 512Mi), then restored by the undo (a second patch).
    patches = [w for w in store.writes if w.resource == "deployments" and w.verb == "patch"]
    assert len(patches) == 2, store.writes
    assert memory_limit(store) == "256Mi"

    entries = [(e["kind"], json.loads(e["payload"])) for e in ledger(engine, incident_id)]
    kinds = [kind for kind, _ in entries]
    for kind in ("approval_requested", "vote", "apply", "verification", "undo", "outcome"):
        assert kind in kinds, kinds
    assert kinds.index("approval_requested") < kinds.index("apply") < kinds.index("undo")
    payloads = {kind: payload for kind, payload in entries}  # the last of each kind
    assert payloads["approval_requested"]["diff"] == approval.diff
    assert payloads["approval_requested"]["reasons"] == [
        "action k8s.set_resources requires approval"
    ]
    assert payloads["apply"]["status"] == "applied"
    assert payloads["apply"]["result"]["limits"]["memory"] == "512Mi"
    assert (payloads["verification"]["name"], payloads["verification"]["status"]) == (
        "k8s.pods_ready",
        "failed",
    )
    assert payloads["undo"]["name"] == "k8s.set_resources"
    assert payloads["undo"]["status"] == "undone", payloads["undo"]

    card = decision_card(engine, ledger_verifier(settings), incident_id)
    [shown] = card["approvals"]
    assert shown["status"] == "approved"
    assert shown["diff"] == {"changes": [{"path": MEMORY, "before": "256Mi", "after": "512Mi"}]}
    assert [v["principal"] for v in shown["votes"]] == ["operator2-user"]
    [change] = card["changes"]
    assert (change["actuator"], change["status"]) == ("k8s.set_resources", "applied")
    assert change["before"]["limits"]["memory"] == "256Mi"
    rollout, ready = card["verification"]
    assert (rollout["check"], rollout["status"]) == ("k8s.rollout_complete", "passed")
    assert (ready["check"], ready["status"]) == ("k8s.pods_ready", "failed")
    assert ready["observed"]["ready"] == 0 and "0 of 2 pods ready" in ready["detail"]
    [undo] = card["compensation"]
    assert undo["actuator"] == "k8s.set_resources"
    assert card["outcome"]["status"] == "rolled_back"
    lines = "\n".join(card_lines(card))
    assert f"shown to change {MEMORY}: '256Mi' -> '512Mi'" in lines, lines
    assert "four-eyes excludes the principal who opened the incident" in lines
    assert "compensation: step 1 k8s.set_resources undone" in lines
