"""The Kubernetes playbooks' parameters: defaults, and bad values refused naming the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workflows.playbook_params import (
    K8sCrashloopRollbackParams,
    K8sHighLatencyParams,
    K8sNodeDrainParams,
    K8sOomRaiseMemoryParams,
    PlaybookParams,
    describe_errors,
    param_errors,
)


def refused(model: type[PlaybookParams], params: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as exc:
        model.model_validate(params)
    return describe_errors(param_errors(exc.value))


def test_defaults() -> None:
    assert K8sCrashloopRollbackParams().model_dump() == {
        "revision": None,
        "min_ready": 1,
        "verify_within_seconds": 180,
    }
    latency = K8sHighLatencyParams()
    assert (latency.replicas, latency.query_name, latency.threshold) == (8, "p95_ms", 200)
    oom = K8sOomRaiseMemoryParams(container="app", memory_limit="1Gi")
    assert oom.memory_request is None and oom.min_ready == 1
    drain = K8sNodeDrainParams(cluster="prod-eu", node="ip-10-0-3-17")
    assert drain.deadline == 300 and drain.verify_within_seconds == 60


def test_bad_values_are_refused_naming_the_field() -> None:
    assert refused(K8sOomRaiseMemoryParams, {"memory_limit": "1Gi"}).startswith(
        "params.container: Field required"
    )
    assert "params.memory_limit: String should match pattern" in refused(
        K8sOomRaiseMemoryParams, {"container": "app", "memory_limit": "1 GB"}
    )
    assert "params.memory_request" in refused(
        K8sOomRaiseMemoryParams, {"container": "app", "memory_limit": "1Gi", "memory_request": 5}
    )
    assert "params.node: String should match pattern" in refused(
        K8sNodeDrainParams, {"cluster": "prod", "node": "Node_1"}
    )
    assert "params.deadline" in refused(
        K8sNodeDrainParams, {"cluster": "prod", "node": "n1", "deadline": 7200}
    )
    assert "params.revision" in refused(K8sCrashloopRollbackParams, {"revision": "2"})
    assert "params.replicas" in refused(K8sHighLatencyParams, {"replicas": 0})
    assert "params.verify_within_seconds" in refused(
        K8sHighLatencyParams, {"verify_within_seconds": 601}
    )
    assert "params.surge: Extra inputs are not permitted" in refused(
        K8sHighLatencyParams, {"surge": 2}
    )
