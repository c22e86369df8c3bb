"""The demo target's webhook sender: at most one replay per delivery and idempotency key."""

from __future__ import annotations

import httpx

ITEM = {"delivery_id": "d-1", "tenant": "acme", "endpoint": "https://hooks.acme.test/in"}


def replay(demo: httpx.Client, key: str | None, *items: dict[str, str]) -> list[str]:
    headers = {"Idempotency-Key": key} if key else {}
    answer = demo.post("/admin/webhooks/replay", json={"deliveries": list(items)}, headers=headers)
    answer.raise_for_status()
    return [r["status"] for r in answer.json()["results"]]


def test_each_delivery_is_replayed_once_per_key(demo: httpx.Client) -> None:
    other = {**ITEM, "delivery_id": "d-2"}
    assert replay(demo, "req-1", ITEM) == ["replayed"]
    # A retry may carry a different batch: only the new delivery is sent.
    assert replay(demo, "req-1", ITEM, other) == ["duplicate", "replayed"]
    assert replay(demo, "req-2", ITEM) == ["replayed"]  # another request may replay it again
    assert replay(demo, None, ITEM) == ["replayed"]  # without a key nothing is deduplicated
    sent = demo.get("/admin/webhooks/replays").json()
    assert [(s["delivery_id"], s["idempotency_key"]) for s in sent] == [
        ("d-1", "req-1"),
        ("d-2", "req-1"),
        ("d-1", "req-2"),
        ("d-1", None),
    ]
    assert len(demo.get("/admin/webhooks/replays", params={"key": "req-1"}).json()) == 2
    demo.post("/admin/reset").raise_for_status()
    assert demo.get("/admin/webhooks/replays").json() == []
    assert replay(demo, "req-1", ITEM) == ["replayed"]  # reset forgets the keys too


def test_malformed_replays_are_refused(demo: httpx.Client) -> None:
    for body in ({"deliveries": []}, {"deliveries": [{"delivery_id": "x"}]}, {}):
        assert demo.post("/admin/webhooks/replay", json=body).status_code == 422
    assert demo.get("/admin/webhooks/replays").json() == []
