"""Safety controls take exactly what they declare (issue 13, items 7, 8 and 11).

``{"enabled": "yes"}`` once turned the kill switch on; a control character in a reason broke
every decision in its scope; times declared as RFC 3339 strings took epoch numbers. Each
field is refused with a 422 naming it, and nothing changes.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.usefixtures("generous_limits"),
]

POLICY = "/api/v1/policy"
NOT_BOOLEANS = ["yes", "true", "on", 0, 1, 1.0, None, [], {}]
NOT_INTEGERS = ["60", 60.0, 60.5, True, None, "sixty"]
CONTROL_CHARACTERS = [chr(code) for code in [*range(0x20), 0x7F]]
EPOCHS = [1_900_000_000, 1_900_000_000.5, "1900000000", "1.9e9"]
WINDOW = {"starts_at": "2030-01-01T00:00:00+00:00", "ends_at": "2030-01-02T00:00:00Z"}


def fields_of(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    return [error["field"] for error in answer.json()["errors"]]


async def test_the_kill_switch_takes_only_true_or_false(
    api_url: str, api_keys: dict[str, str]
) -> None:
    async with httpx.AsyncClient(
        base_url=api_url, headers={"X-API-Key": api_keys["admin"]}, timeout=30
    ) as api:
        for value in NOT_BOOLEANS:
            answer = await api.put(f"{POLICY}/kill-switch", json={"enabled": value, "reason": "r"})
            assert fields_of(answer) == ["enabled"], value
        extra = await api.put(
            f"{POLICY}/kill-switch", json={"enabled": False, "reason": "r", "force": True}
        )
        assert fields_of(extra) == ["force"]
        assert (await api.get(POLICY)).json()["kill_switch"] is None  # never touched
        on = await api.put(f"{POLICY}/kill-switch", json={"enabled": True, "reason": "drill"})
        assert on.status_code == 200, on.text
        assert (await api.get(POLICY)).json()["kill_switch"]["enabled"] is True


async def test_reasons_with_control_characters_are_refused_everywhere(
    api_url: str, api_keys: dict[str, str]
) -> None:
    async with httpx.AsyncClient(
        base_url=api_url, headers={"X-API-Key": api_keys["admin"]}, timeout=30
    ) as api:
        freeze = await api.post(f"{POLICY}/freezes", json={**WINDOW, "reason": "year end"})
        assert freeze.status_code == 201, freeze.text
        freeze_id = freeze.json()["id"]
        for char in CONTROL_CHARACTERS:
            reason = f"bad{char}deploy"
            switch = await api.put(
                f"{POLICY}/kill-switch", json={"enabled": True, "reason": reason}
            )
            assert fields_of(switch) == ["reason"], repr(char)
            assert f"U+{ord(char):04X}" in switch.json()["detail"]
            added = await api.post(f"{POLICY}/freezes", json={**WINDOW, "reason": reason})
            assert fields_of(added) == ["reason"], repr(char)
            reload = await api.post(f"{POLICY}/reload", json={"reason": reason})
            assert fields_of(reload) == ["reason"], repr(char)
            removed = await api.delete(f"{POLICY}/freezes/{freeze_id}", params={"reason": reason})
            assert fields_of(removed) == ["reason"], repr(char)
        state = (await api.get(POLICY)).json()
        assert state["kill_switch"] is None
        assert [f["id"] for f in state["freezes"]] == [freeze_id]
        # Text that is merely unusual is fine: quotes, backslashes, other scripts.
        fine = 'the "big" \\ rollout: 大规模 😀'
        on = await api.put(f"{POLICY}/kill-switch", json={"enabled": True, "reason": fine})
        assert on.status_code == 200 and on.json()["reason"] == fine


@pytest.mark.parametrize(
    ("change", "field"),
    [
        *[({"starts_at": epoch}, "starts_at") for epoch in EPOCHS],
        *[({"ends_at": epoch}, "ends_at") for epoch in EPOCHS],
        ({"starts_at": "2030-01-01T00:00:00"}, "starts_at"),  # no offset
        ({"tiers": ["urgent"]}, "tiers[0]"),
        ({"tiers": "warn"}, "tiers"),
        ({"services": ["has space"]}, "services[0]"),
        ({"services": [""]}, "services[0]"),
        ({"scope": "all"}, "scope"),
    ],
)
async def test_freezes_take_rfc3339_times_known_tiers_and_service_names(
    api_url: str, api_keys: dict[str, str], change: dict[str, Any], field: str
) -> None:
    body = {**WINDOW, "reason": "r", **change}
    async with httpx.AsyncClient(
        base_url=api_url, headers={"X-API-Key": api_keys["admin"]}, timeout=30
    ) as api:
        assert fields_of(await api.post(f"{POLICY}/freezes", json=body)) == [field]
        assert (await api.get(POLICY)).json()["freezes"] == []


async def test_key_expiry_and_rotation_grace_are_strict(
    api_url: str, api_keys: dict[str, str]
) -> None:
    async with httpx.AsyncClient(
        base_url=api_url, headers={"X-API-Key": api_keys["admin"]}, timeout=30
    ) as api:
        victim = await api.post("/api/v1/keys", json={"principal": "v", "roles": ["auditor"]})
        assert victim.status_code == 201, victim.text
        key_id = victim.json()["id"]
        for epoch in EPOCHS:
            created = await api.post(
                "/api/v1/keys",
                json={"principal": "p", "roles": ["operator"], "expires_at": epoch},
            )
            assert fields_of(created) == ["expires_at"], epoch
            patched = await api.patch(f"/api/v1/keys/{key_id}", json={"expires_at": epoch})
            assert fields_of(patched) == ["expires_at"], epoch
        for grace in NOT_INTEGERS:
            rotated = await api.post(f"/api/v1/keys/{key_id}/rotate", json={"grace_seconds": grace})
            assert fields_of(rotated) == ["grace_seconds"], grace
        for role in ["root", 1, True]:
            created = await api.post("/api/v1/keys", json={"principal": "p", "roles": [role]})
            assert fields_of(created) == ["roles[0]"], role
        keys = (await api.get("/api/v1/keys")).json()
        assert [k["status"] for k in keys if k["id"] == key_id] == ["active"]
        assert not [k for k in keys if k["principal"] == "p"]


async def test_monitor_switches_and_intervals_are_strict(
    api_url: str, api_keys: dict[str, str], temporal_env: WorkflowEnvironment
) -> None:
    base = {
        "name": "strict-check",
        "service": "demo",
        "signal": "latency",
        "playbook": "high_latency",
        "source": {"kind": "events", "series": "latency"},
    }
    async with httpx.AsyncClient(
        base_url=api_url, headers={"X-API-Key": api_keys["admin"]}, timeout=30
    ) as api:
        for value in NOT_BOOLEANS:
            answer = await api.post("/api/v1/monitors", json={**base, "paused": value})
            assert fields_of(answer) == ["paused"], value
        for value in NOT_INTEGERS:
            for field in ("interval_seconds", "window_seconds"):
                answer = await api.post("/api/v1/monitors", json={**base, field: value})
                assert fields_of(answer) == [field], (field, value)
        assert (await api.get("/api/v1/monitors")).json() == []


@pytest.mark.usefixtures("temporal_env")
async def test_times_declared_as_rfc3339_refuse_epochs_and_events_declare_theirs(
    api_url: str, api_keys: dict[str, str]
) -> None:
    event = {"id": "e1", "series": "latency", "service": "demo", "value": 1.0}
    attempt = {"delivery_id": "d1", "tenant": "t", "endpoint": "https://x.example/hook"}
    alert = {"status": "firing", "labels": {"alertname": "A"}, "fingerprint": "f1"}
    hook = {"version": "4", "groupKey": "g", "status": "firing", "receiver": "steward"}
    async with httpx.AsyncClient(
        base_url=api_url, headers={"X-API-Key": api_keys["admin"]}, timeout=30
    ) as api:
        document = (await api.get("/openapi.json")).json()
        for text in ("1900000000", "1.9e9"):
            answer = await api.post(
                "/api/v1/events", json={"events": [{**event, "timestamp": text}]}
            )
            assert fields_of(answer) == ["events[0].timestamp"], text
        for epoch in EPOCHS:
            delivery = await api.post(
                "/api/v1/deliveries", json={"deliveries": [{**attempt, "timestamp": epoch}]}
            )
            assert fields_of(delivery) == ["deliveries[0].timestamp"], epoch
            notified = await api.post(
                "/api/v1/alerts/alertmanager",
                json={**hook, "alerts": [{**alert, "startsAt": epoch}]},
            )
            assert fields_of(notified) == ["alerts[0].startsAt"], epoch
            since = await api.get(
                "/api/v1/replay/recommendations", params={"tenant": "t", "since": str(epoch)}
            )
            assert fields_of(since) == ["since"], epoch
        # Events take Unix seconds as numbers, and the document says so.
        stored = await api.post(
            "/api/v1/events", json={"events": [{**event, "timestamp": 1_900_000_000}]}
        )
        assert stored.status_code == 200, stored.text
        declared = document["components"]["schemas"]["EventIn"]["properties"]["timestamp"]
        assert {"type": "number", "description": "Unix time in seconds"} in declared["anyOf"]
        freeze = document["components"]["schemas"]["FreezeIn"]["properties"]["starts_at"]
        assert freeze == {"type": "string", "format": "date-time", "title": "Starts At"}
