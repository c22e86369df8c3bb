"""Settings.catalog(): the file, STEWARD_TARGETS (deprecated), both, and the built-in demo."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from api.core import catalog_sources
from api.core.catalog import CatalogError, DemoTarget, HttpTarget
from api.core.settings import Settings
from tests.support.catalog import write_catalog

WARNING = (
    "STEWARD_TARGETS is deprecated and will be removed in the next release; move these "
    "services to a catalog file (STEWARD_CATALOG)"
)


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """As in a new process: no deprecation warning logged yet, none of these variables set."""
    monkeypatch.setattr(catalog_sources, "_warned", False)
    for name in ("STEWARD_CATALOG", "STEWARD_TARGETS"):
        monkeypatch.delenv(name, raising=False)
    caplog.set_level(logging.WARNING, logger="steward.catalog")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "steward.catalog"]


@pytest.mark.usefixtures("fresh_process")
def test_nothing_set_is_the_demo_alone(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(_env_file=None)
    catalog = settings.catalog()
    assert list(catalog.services) == ["demo"]
    assert isinstance(catalog.service("demo").target, DemoTarget)
    # The built-in demo declares nothing: the policy's data.json decides its environment.
    assert catalog.policy_facts("demo") is None
    assert settings.target_url("demo") == f"http://127.0.0.1:{settings.demo_port}"
    assert _warnings(caplog) == []


@pytest.mark.usefixtures("fresh_process")
def test_the_file_from_steward_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_catalog(tmp_path)
    monkeypatch.setenv("STEWARD_CATALOG", str(path))
    settings = Settings(_env_file=None)
    assert settings.catalog_path == path
    catalog = settings.catalog()
    assert sorted(catalog.services) == ["billing", "checkout", "demo", "search"]
    assert catalog.source == str(path)
    assert settings.target_url("billing") == "http://ops:hunter2@127.0.0.1:9"
    assert settings.target_url("demo") == f"http://127.0.0.1:{settings.demo_port}"
    with pytest.raises(ValueError, match="'checkout' runs on Kubernetes .*no admin URL"):
        settings.target_url("checkout")
    with pytest.raises(KeyError) as unknown:
        settings.target_url("nowhere")
    assert unknown.value.args[0] == (
        "unknown service 'nowhere'; known services: billing, checkout, demo, search"
    )
    assert settings.catalog() is catalog, "built once while the file is unchanged"
    assert _warnings(caplog) == []


@pytest.mark.usefixtures("fresh_process")
def test_a_catalog_that_defines_demo_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "steward.yaml"
    path.write_text(
        "services:\n  demo:\n    environment: production\n    owners: [sre]\n"
        "    target: {kind: http, url: 'http://127.0.0.1:1'}\n"
    )
    catalog = Settings(_env_file=None, catalog_path=path).catalog()
    assert isinstance(catalog.service("demo").target, HttpTarget)
    assert catalog.policy_facts("demo") == {"environment": "production", "owners": ["sre"]}


@pytest.mark.usefixtures("fresh_process")
def test_steward_targets_still_works_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("STEWARD_TARGETS", json.dumps({"billing": "http://127.0.0.1:7/"}))
    settings = Settings(_env_file=None)
    catalog = settings.catalog()
    assert sorted(catalog.services) == ["billing", "demo"]
    assert catalog.source == "STEWARD_TARGETS"
    assert catalog.policy_facts("billing") is None, "data.json keeps deciding, as before"
    assert settings.target_url("billing") == "http://127.0.0.1:7"
    Settings(_env_file=None).catalog()
    settings.target_url("demo")
    assert _warnings(caplog) == [WARNING], "one warning per process"


@pytest.mark.usefixtures("fresh_process")
def test_steward_targets_may_define_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_TARGETS", json.dumps({"demo": "http://127.0.0.1:5"}))
    settings = Settings(_env_file=None)
    assert settings.target_url("demo") == "http://127.0.0.1:5"
    assert isinstance(settings.catalog().service("demo").target, HttpTarget)


@pytest.mark.usefixtures("fresh_process")
def test_a_bad_steward_targets_url_names_the_variable_and_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STEWARD_TARGETS", json.dumps({"billing": "nope"}))
    with pytest.raises(CatalogError) as refused:
        Settings(_env_file=None).catalog()
    assert str(refused.value).startswith(
        "invalid STEWARD_TARGETS: services.billing.target.url: String should match pattern"
    )


@pytest.mark.usefixtures("fresh_process")
def test_both_set_the_file_wins_and_the_variable_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("STEWARD_CATALOG", str(write_catalog(tmp_path)))
    monkeypatch.setenv("STEWARD_TARGETS", json.dumps({"legacy": "http://127.0.0.1:7"}))
    settings = Settings(_env_file=None)
    assert "legacy" not in settings.catalog().services
    with pytest.raises(KeyError, match="unknown service 'legacy'"):
        settings.target_url("legacy")
    assert _warnings(caplog) == [catalog_sources.IGNORED]
    assert "ignored" in catalog_sources.IGNORED and "STEWARD_CATALOG" in catalog_sources.IGNORED
