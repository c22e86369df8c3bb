"""The demo target's HTTP contract, over real HTTP (``demo`` comes from tests/conftest.py)."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from workers.demo_target.model import DemoState

DEFAULT_METRICS = {
    "demo_request_rate": 100.0,
    "demo_error_rate": 0.0,
    "demo_p95_latency_seconds": 0.04,
    "demo_replicas": 2.0,
    "demo_cache_hit_ratio": 0.92,
    "demo_restarts_total": 0.0,
    "demo_cache_purges_total": 0.0,
}


def scrape(demo: httpx.Client) -> dict[str, float]:
    response = demo.get("/metrics")
    response.raise_for_status()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_healthz(demo: httpx.Client) -> None:
    assert demo.get("/healthz").json() == {"status": "ok"}


def test_metrics_expose_defaults_in_prometheus_format(demo: httpx.Client) -> None:
    response = demo.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert scrape(demo) == pytest.approx(DEFAULT_METRICS)


def test_metrics_follow_faults_and_scaling(demo: httpx.Client) -> None:
    demo.post("/admin/faults", json={"latency_ms": 400, "error_rate": 0.3}).raise_for_status()
    demo.post("/admin/faults", json={"cache_poisoned": True}).raise_for_status()
    metrics = scrape(demo)
    assert metrics["demo_p95_latency_seconds"] == pytest.approx(0.44)
    assert metrics["demo_error_rate"] == pytest.approx(0.3)
    assert metrics["demo_cache_hit_ratio"] == pytest.approx(0.2)

    assert demo.post("/admin/scale", json={"replicas": 8}).json() == {
        "replicas": 8,
        "previous": 2,
    }
    metrics = scrape(demo)
    assert metrics["demo_p95_latency_seconds"] == pytest.approx(0.14)
    assert metrics["demo_request_rate"] == pytest.approx(400.0)
    assert metrics["demo_replicas"] == 8.0


def test_state_reports_faults_flags_counters_and_metrics(demo: httpx.Client) -> None:
    demo.post("/admin/faults", json={"latency_ms": 100}).raise_for_status()
    state = demo.get("/admin/state").json()
    assert state == {
        "replicas": 2,
        "faults": {
            "latency_ms": 100.0,
            "error_rate": 0.0,
            "cache_poisoned": False,
            "admin_delay_ms": 0.0,
        },
        "flags": {"new_checkout": False},
        "restarts": 0,
        "cache_purges": 0,
        "metrics": {
            "p95_latency_seconds": pytest.approx(0.14),
            "error_rate": 0.0,
            "request_rate": 100.0,
            "cache_hit_ratio": 0.92,
        },
    }


def test_restart_clears_errors_and_purge_clears_poisoning(demo: httpx.Client) -> None:
    faults = {"error_rate": 0.5, "cache_poisoned": True, "latency_ms": 50}
    demo.post("/admin/faults", json=faults).raise_for_status()
    assert demo.post("/admin/restart").json() == {"restarts": 1}
    assert demo.post("/admin/cache/purge", json={}).json() == {"cache_purges": 1}
    state = demo.get("/admin/state").json()
    assert state["faults"]["error_rate"] == 0.0
    assert state["faults"]["cache_poisoned"] is False
    assert state["faults"]["latency_ms"] == 50.0, "restart and purge leave latency alone"
    metrics = scrape(demo)
    assert metrics["demo_restarts_total"] == 1.0
    assert metrics["demo_cache_purges_total"] == 1.0


def test_flag_reports_previous_value(demo: httpx.Client) -> None:
    first = demo.put("/admin/flags/new_checkout", json={"enabled": True}).json()
    assert first == {"name": "new_checkout", "enabled": True, "previous": False}
    second = demo.put("/admin/flags/new_checkout", json={"enabled": False}).json()
    assert second["previous"] is True
    unknown = demo.put("/admin/flags/dark_mode", json={"enabled": True}).json()
    assert unknown == {"name": "dark_mode", "enabled": True, "previous": None}
    assert demo.get("/admin/state").json()["flags"] == {
        "new_checkout": False,
        "dark_mode": True,
    }


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/admin/scale", {"replicas": 3}),
        ("POST", "/admin/restart", None),
        ("POST", "/admin/cache/purge", None),
        ("PUT", "/admin/flags/new_checkout", {"enabled": True}),
    ],
)
def test_same_idempotency_key_replays_without_reapplying(
    demo: httpx.Client, method: str, path: str, body: dict[str, object] | None
) -> None:
    headers = {"Idempotency-Key": "incident-1/step-0"}
    first = demo.request(method, path, json=body, headers=headers)
    again = demo.request(method, path, json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert "idempotent-replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    actions = demo.get("/admin/actions").json()
    assert len(actions) == 1
    assert actions[0]["idempotency_key"] == "incident-1/step-0"


def test_replay_returns_the_original_response_even_after_later_changes(
    demo: httpx.Client,
) -> None:
    headers = {"Idempotency-Key": "k1"}
    original = demo.post("/admin/scale", json={"replicas": 3}, headers=headers).json()
    demo.post("/admin/scale", json={"replicas": 5}).raise_for_status()
    replay = demo.post("/admin/scale", json={"replicas": 3}, headers=headers)
    assert replay.json() == original == {"replicas": 3, "previous": 2}
    assert demo.get("/admin/state").json()["replicas"] == 5, "the replay must not re-apply"
    assert [action["body"] for action in demo.get("/admin/actions").json()] == [
        {"replicas": 3},
        {"replicas": 5},
    ]


def test_same_key_with_different_body_is_a_conflict(demo: httpx.Client) -> None:
    headers = {"Idempotency-Key": "k1"}
    demo.post("/admin/scale", json={"replicas": 3}, headers=headers).raise_for_status()
    conflict = demo.post("/admin/scale", json={"replicas": 4}, headers=headers)
    assert conflict.status_code == 409
    assert "Idempotency-Key 'k1'" in conflict.json()["detail"]
    other_action = demo.post("/admin/restart", headers=headers)
    assert other_action.status_code == 409
    state = demo.get("/admin/state").json()
    assert (state["replicas"], state["restarts"]) == (3, 0)


def test_admin_delay_comes_after_the_result_is_stored(demo: httpx.Client) -> None:
    demo.post("/admin/faults", json={"admin_delay_ms": 1500}).raise_for_status()
    headers = {"Idempotency-Key": "killed-mid-apply"}
    with pytest.raises(httpx.ReadTimeout):
        # A demo that gives up during the delay stands in for a worker killed mid-apply.
        demo.post("/admin/scale", json={"replicas": 6}, headers=headers, timeout=0.3)
    assert demo.get("/admin/state").json()["replicas"] == 6, "applied before the delay"

    started = time.monotonic()
    retry = demo.post("/admin/scale", json={"replicas": 6}, headers=headers)
    assert time.monotonic() - started < 1.0, "a replay does not wait for the delay"
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == {"replicas": 6, "previous": 2}
    assert len(demo.get("/admin/actions").json()) == 1

    started = time.monotonic()
    demo.post("/admin/restart").raise_for_status()
    assert time.monotonic() - started >= 1.5, "a fresh mutation waits for the delay"


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/admin/scale", {"replicas": 0}, "replicas"),
        ("POST", "/admin/scale", {"replicas": 51}, "replicas"),
        ("POST", "/admin/scale", {"replicas": "3"}, "replicas"),
        ("POST", "/admin/scale", {}, "replicas"),
        ("PUT", "/admin/flags/new_checkout", {"enabled": "yes"}, "enabled"),
        ("POST", "/admin/faults", {"error_rate": 1.5}, "error_rate"),
        ("POST", "/admin/faults", {"latency_ms": -1}, "latency_ms"),
        ("POST", "/admin/faults", {"admin_delay_ms": -5}, "admin_delay_ms"),
        ("POST", "/admin/faults", {"latencyms": 10}, "latencyms"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    demo: httpx.Client, method: str, path: str, body: dict[str, object], field: str
) -> None:
    response = demo.request(method, path, json=body)
    assert response.status_code == 422
    assert field in {str(part) for error in response.json()["detail"] for part in error["loc"]}
    assert demo.get("/admin/actions").json() == [], "nothing is applied on bad input"


def test_clearing_faults_and_reset_restore_defaults(demo: httpx.Client) -> None:
    demo.post("/admin/faults", json={"latency_ms": 300, "cache_poisoned": True})
    cleared = demo.delete("/admin/faults").json()
    assert cleared["faults"] == {
        "latency_ms": 0.0,
        "error_rate": 0.0,
        "cache_poisoned": False,
        "admin_delay_ms": 0.0,
    }

    headers = {"Idempotency-Key": "before-reset"}
    demo.post("/admin/scale", json={"replicas": 9}, headers=headers).raise_for_status()
    demo.put("/admin/flags/x", json={"enabled": True}).raise_for_status()
    demo.post("/admin/restart").raise_for_status()
    reset = demo.post("/admin/reset").json()
    assert reset == demo.get("/admin/state").json()
    assert (reset["replicas"], reset["restarts"], reset["flags"]) == (2, 0, {"new_checkout": False})
    assert demo.get("/admin/actions").json() == []
    reused = demo.post("/admin/scale", json={"replicas": 4}, headers=headers)
    assert reused.status_code == 200, "reset forgets idempotency keys"
    assert "idempotent-replayed" not in reused.headers


def test_work_endpoint_fails_at_the_injected_error_rate(demo: httpx.Client) -> None:
    assert demo.get("/").status_code == 200
    demo.post("/admin/faults", json={"error_rate": 1.0}).raise_for_status()
    assert demo.get("/").status_code == 500


def test_work_endpoint_is_as_slow_as_half_the_p95(demo: httpx.Client) -> None:
    demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
    started = time.monotonic()
    demo.get("/").raise_for_status()
    assert time.monotonic() - started >= 0.22, "p95 is 440 ms, so the request sleeps 220 ms"


def test_model_rejects_out_of_range_values_without_changing_state() -> None:
    state = DemoState()
    with pytest.raises(ValueError, match="replicas"):
        state.scale(51)
    with pytest.raises(ValueError, match="error_rate"):
        state.update_faults({"error_rate": 2.0, "latency_ms": 10})
    with pytest.raises(ValueError, match="unknown faults"):
        state.update_faults({"latency": 10})
    assert state.to_dict() == DemoState().to_dict()
