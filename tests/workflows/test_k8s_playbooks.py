"""The shipped Kubernetes playbooks on a real worker through ``steward.testing``.

Actuators and checks are fakes; the policy is the shipped one (``policies/``), so the approval
each playbook waits for is the one production asks for: ``k8s.rollback`` and ``k8s.drain`` are
critical, and the policy data marks ``k8s.set_resources`` as needing approval everywhere.
"""

from __future__ import annotations

from typing import Any

import pytest

from steward.testing import Approve, PlaybookHarness, PlaybookResult, Reject
from workflows.playbooks.k8s_crashloop_rollback import K8sCrashloopRollback
from workflows.playbooks.k8s_high_latency import K8sHighLatency
from workflows.playbooks.k8s_node_drain import K8sNodeDrain
from workflows.playbooks.k8s_oom_raise_memory import K8sOomRaiseMemory

pytestmark = pytest.mark.slow

TEMPLATE = {"revision": 2, "template": {"image": "app:2"}}
RESOURCES = {"requests": {"memory": "128Mi"}, "limits": {"memory": "256Mi"}}
OOM = {"container": "app", "memory_limit": "512Mi", "verify_within_seconds": 1}
NODE = {"cluster": "prod", "node": "node-1"}


def trail(result: PlaybookResult) -> list[tuple[str, str, str]]:
    """The step rows as (kind, name, status)."""
    return [(s["kind"], s["name"], s["status"]) for s in result.steps]


def approval_reasons(result: PlaybookResult) -> list[Any]:
    """The policy's reasons of every approval request in the ledger."""
    return [r.payload["reasons"] for r in result.ledger if r.kind == "approval_requested"]


async def test_crashloop_rollback_waits_for_approval_rolls_back_and_verifies() -> None:
    async with PlaybookHarness() as harness:
        rollback = harness.fake_actuator("k8s.rollback", before=TEMPLATE)
        ready = harness.fake_check("k8s.pods_ready", results=[False, True])
        result = await harness.run(
            K8sCrashloopRollback, params={"min_ready": 2}, approvals=[Approve(by="ann")]
        )
    assert result.status == "resolved", result.outcome
    assert rollback.applied == [{"service": "demo", "revision": None}]
    assert ready.polls[-1] == {"service": "demo", "min_ready": 2, "baseline": None}
    [approval] = result.approvals
    assert approval["actuator"] == "k8s.rollback" and approval["status"] == "approved"
    assert trail(result) == [
        ("act", "k8s.rollback", "applied"),
        ("verify", "k8s.pods_ready", "passed"),
    ]
    assert result.ledger_intact


async def test_crashloop_rollback_rolls_forward_when_pods_stay_unready() -> None:
    async with PlaybookHarness() as harness:
        rollback = harness.fake_actuator("k8s.rollback", before=TEMPLATE)
        harness.fake_check("k8s.pods_ready", results=[False])
        result = await harness.run(
            K8sCrashloopRollback,
            params={"revision": 3, "verify_within_seconds": 1},
            approvals=[Approve(by="ann")],
        )
    assert result.status == "rolled_back", result.outcome
    assert rollback.applied == [{"service": "demo", "revision": 3}]
    assert rollback.undone == [TEMPLATE] and result.compensated == [1]
    assert "undo" in result.ledger_kinds() and result.ledger_intact


async def test_crashloop_rollback_rejected_applies_nothing() -> None:
    async with PlaybookHarness() as harness:
        rollback = harness.fake_actuator("k8s.rollback", before=TEMPLATE)
        result = await harness.run(K8sCrashloopRollback, approvals=[Reject(by="ann")])
    assert result.status == "rejected", result.outcome
    assert rollback.applied == [] and rollback.undone == []


async def test_high_latency_scales_out_and_verifies_the_catalog_query() -> None:
    async with PlaybookHarness() as harness:
        scale = harness.fake_actuator("k8s.scale", before={"replicas": 3})
        query = harness.fake_check("prometheus.query", results=[False, True])
        result = await harness.run(K8sHighLatency, params={"replicas": 6, "threshold": 250})
    assert result.status == "resolved", result.outcome
    assert scale.applied == [{"service": "demo", "replicas": 6}]
    assert query.polls[-1] == {
        "service": "demo",
        "query": None,
        "query_name": "p95_ms",
        "threshold": 250.0,
        "op": "<",
    }
    assert result.approvals == []  # warn, in a staging service: no approval
    assert scale.undone == []


async def test_high_latency_restores_the_replicas_when_latency_stays_high() -> None:
    async with PlaybookHarness() as harness:
        scale = harness.fake_actuator("k8s.scale", before={"replicas": 3})
        harness.fake_check("prometheus.query", results=[False])
        result = await harness.run(
            K8sHighLatency, params={"query_name": "p99_ms", "verify_within_seconds": 1}
        )
    assert result.status == "rolled_back", result.outcome
    assert scale.undone == [{"replicas": 3}] and result.compensated == [1]


async def test_oom_waits_for_the_policy_approval_then_raises_the_memory() -> None:
    async with PlaybookHarness() as harness:
        resources = harness.fake_actuator("k8s.set_resources", before=RESOURCES)
        rollout = harness.fake_check("k8s.rollout_complete", results=[False, True])
        ready = harness.fake_check("k8s.pods_ready")
        result = await harness.run(
            K8sOomRaiseMemory,
            params={**OOM, "memory_request": "256Mi", "verify_within_seconds": 5},
            approvals=[Approve(by="tester"), Approve(by="ann")],
        )
    assert result.status == "resolved", result.outcome
    assert resources.applied == [
        {
            "service": "demo",
            "container": "app",
            "requests": {"memory": "256Mi"},
            "limits": {"memory": "512Mi"},
        }
    ]
    # The opener never approves their own incident: the real policy excludes them.
    assert [v.answer.by for v in result.refused_votes] == ["tester"]
    [approval] = result.approvals
    assert approval["actuator"] == "k8s.set_resources" and approval["status"] == "approved"
    assert approval_reasons(result) == [["action k8s.set_resources requires approval"]]
    assert len(rollout.polls) == 2 and len(ready.polls) == 1
    assert trail(result) == [
        ("act", "k8s.set_resources", "applied"),
        ("verify", "k8s.rollout_complete", "passed"),
        ("verify", "k8s.pods_ready", "passed"),
    ]


async def test_oom_restores_the_limits_when_the_rollout_never_completes() -> None:
    async with PlaybookHarness() as harness:
        resources = harness.fake_actuator("k8s.set_resources", before=RESOURCES)
        harness.fake_check("k8s.rollout_complete", results=[False])
        ready = harness.fake_check("k8s.pods_ready")
        result = await harness.run(K8sOomRaiseMemory, params=OOM, approvals=[Approve(by="ann")])
    assert result.status == "rolled_back", result.outcome
    assert resources.undone == [RESOURCES]
    assert ready.polls == []  # the rollout failed first


async def test_oom_restores_the_limits_when_pods_are_not_ready() -> None:
    async with PlaybookHarness() as harness:
        resources = harness.fake_actuator("k8s.set_resources", before=RESOURCES)
        harness.fake_check("k8s.rollout_complete")
        harness.fake_check("k8s.pods_ready", results=[False])
        result = await harness.run(K8sOomRaiseMemory, params=OOM, approvals=[Approve(by="ann")])
    assert result.status == "rolled_back", result.outcome
    assert resources.undone == [RESOURCES]
    assert trail(result) == [  # by step: the undo row belongs to step 1
        ("act", "k8s.set_resources", "applied"),
        ("undo", "k8s.set_resources", "undone"),
        ("verify", "k8s.rollout_complete", "passed"),
        ("verify", "k8s.pods_ready", "failed"),
    ]


async def test_oom_rejected_leaves_the_limits_alone() -> None:
    async with PlaybookHarness() as harness:
        resources = harness.fake_actuator("k8s.set_resources", before=RESOURCES)
        result = await harness.run(K8sOomRaiseMemory, params=OOM, approvals=[Reject(by="ann")])
    assert result.status == "rejected", result.outcome
    assert resources.applied == []


async def test_node_drain_cordons_then_drains_after_approval_and_verifies() -> None:
    async with PlaybookHarness() as harness:
        cordon = harness.fake_actuator("k8s.cordon", before={"unschedulable": False})
        drain = harness.fake_actuator("k8s.drain", before={"unschedulable": True})
        drained = harness.fake_check("k8s.node_drained", results=[False, True])
        result = await harness.run(
            K8sNodeDrain, params={**NODE, "deadline": 120}, approvals=[Approve(by="ann")]
        )
    assert result.status == "resolved", result.outcome
    assert cordon.applied == [NODE]
    assert drain.applied == [{**NODE, "deadline_seconds": 120.0, "retry_seconds": 5.0}]
    assert drained.polls[-1] == NODE
    [approval] = result.approvals  # the cordon (warn) went ahead; the drain (critical) asked
    assert approval["actuator"] == "k8s.drain" and approval["step"] == 2


async def test_node_drain_uncordons_when_the_drain_fails() -> None:
    async with PlaybookHarness() as harness:
        cordon = harness.fake_actuator("k8s.cordon", before={"unschedulable": False})
        drain = harness.fake_actuator("k8s.drain", fail="a disruption budget forbids evicting")
        result = await harness.run(K8sNodeDrain, params=NODE, approvals=[Approve(by="ann")])
    assert result.status in {"rolled_back", "failed"}, result.outcome
    assert "disruption budget" in result.outcome.reason
    assert cordon.undone == [{"unschedulable": False}]
    assert drain.undone == []  # it never applied


async def test_node_drain_undoes_both_steps_newest_first_when_pods_remain() -> None:
    async with PlaybookHarness() as harness:
        cordon = harness.fake_actuator("k8s.cordon", before={"unschedulable": False})
        drain = harness.fake_actuator("k8s.drain", before={"unschedulable": True})
        harness.fake_check("k8s.node_drained", results=[False])
        result = await harness.run(
            K8sNodeDrain,
            params={**NODE, "verify_within_seconds": 1},
            approvals=[Approve(by="ann")],
        )
    assert result.status == "rolled_back", result.outcome
    assert result.compensated == [2, 1]
    assert drain.undone == [{"unschedulable": True}]
    assert cordon.undone == [{"unschedulable": False}]
