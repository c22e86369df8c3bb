"""GET /api/v1/services lists the catalog; opening an incident checks the service against it."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.core.settings import Settings
from api.models import ApiKey
from tests.support.catalog import use_catalog
from tests.support.incidents import body


@pytest.fixture
def catalog(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's settings with a catalog file (asked for before ``api_url``)."""
    return use_catalog(tmp_path / "catalog", monkeypatch)


def test_the_catalog_is_listed(catalog: Path, api_url: str, api_keys: dict[str, str]) -> None:
    with httpx.Client(base_url=api_url, timeout=10) as api:
        assert api.get("/api/v1/services").status_code == 401
        listed = api.get("/api/v1/services", headers={"X-API-Key": api_keys["auditor"]})
    assert listed.status_code == 200, listed.text
    services = {s["name"]: s for s in listed.json()}
    assert list(services) == ["billing", "checkout", "demo", "search"]
    assert services["checkout"] == {
        "name": "checkout",
        "environment": "production",
        "owners": ["team-payments"],
        "target": {
            "kind": "kubernetes",
            "cluster": "prod-eu",
            "context": "prod-eu",
            "in_cluster": False,
            "namespace": "shop",
            "workload": {"kind": "Deployment", "name": "checkout"},
            "selector": {},
            "containers": ["app"],
        },
        "queries": {
            "p95_ms": "histogram_quantile(0.95, sum by (le) (rate(http_seconds_bucket[5m]))) * 1e3"
        },
        "declared": True,
    }
    assert services["search"]["target"]["in_cluster"] is True
    assert services["search"]["target"]["context"] is None
    assert services["search"]["target"]["selector"] == {"app": "search"}
    # A password in an admin URL is a credential: never listed.
    assert services["billing"]["target"] == {"kind": "http", "url": "http://127.0.0.1:9/"}
    assert "hunter2" not in listed.text and "secret-token" not in listed.text
    assert services["demo"] == {
        "name": "demo",
        "environment": "development",
        "owners": [],
        "target": {"kind": "demo"},
        "queries": {},
        "declared": False,
    }


def test_a_key_without_incidents_read_is_refused(
    catalog: Path, api_url: str, api_keys: dict[str, str], engine: Engine
) -> None:
    # Every role reads incidents; a key whose only role has been retired grants nothing.
    with Session(engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.principal == "auditor-user")).one()
        row.roles = ["retired-role"]
        session.add(row)
        session.commit()
    with httpx.Client(base_url=api_url, timeout=10) as api:
        refused = api.get("/api/v1/services", headers={"X-API-Key": api_keys["auditor"]})
    assert refused.status_code == 403
    assert "incidents:read" in refused.json()["detail"]


@pytest.mark.usefixtures("temporal_env")
def test_an_unknown_service_lists_the_catalog(
    catalog: Path, api_url: str, api_keys: dict[str, str]
) -> None:
    with httpx.Client(base_url=api_url, timeout=10) as api:
        answer = api.post(
            "/api/v1/incidents",
            json=body(service="nowhere"),
            headers={"X-API-Key": api_keys["engineer"]},
        )
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        "unknown service 'nowhere'; known services: billing, checkout, demo, search"
    )


def test_a_catalog_broken_after_start_is_503(
    catalog: Path, api_url: str, api_keys: dict[str, str]
) -> None:
    catalog.write_text("services: {checkout: {target: {kind: nope}}}\n")
    later = catalog.stat().st_mtime + 5  # a new mtime even on a coarse clock
    os.utime(catalog, (later, later))
    with httpx.Client(base_url=api_url, timeout=10) as api:
        answer = api.get("/api/v1/services", headers={"X-API-Key": api_keys["auditor"]})
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith(f"invalid service catalog {catalog}")


@pytest.mark.usefixtures("temporal_env")
def test_a_container_or_cluster_the_catalog_does_not_know_is_422_listing_the_known(
    catalog: Path, api_url: str, api_keys: dict[str, str]
) -> None:
    with httpx.Client(base_url=api_url, timeout=10) as api:

        def opened(playbook: str, params: dict[str, object]) -> httpx.Response:
            return api.post(
                "/api/v1/incidents",
                json=body(service="checkout", playbook=playbook, params=params),
                headers={"X-API-Key": api_keys["engineer"]},
            )

        oom = opened("k8s_oom_raise_memory", {"container": "db", "memory_limit": "1Gi"})
        drain = opened("k8s_node_drain", {"cluster": "nowhere", "node": "n1"})
        listed = api.get("/api/v1/incidents", headers={"X-API-Key": api_keys["auditor"]})
    assert oom.status_code == 422, oom.text
    [problem] = oom.json()["errors"]
    assert problem["field"] == "params.container"
    assert problem["message"] == (
        "unknown container 'db' for service 'checkout'; the catalog lets actions change: app"
    )
    assert drain.status_code == 422, drain.text
    assert drain.json()["errors"][0] == {
        "field": "params.cluster",
        "message": "unknown cluster 'nowhere'; known clusters: local, prod-eu",
        "type": "value_error",
    }
    assert listed.json() == []  # nothing was opened
