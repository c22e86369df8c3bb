"""The import rules hold for every import in the product, and catch every back-up arrow."""

from __future__ import annotations

import pytest

from tests.import_rules import (
    ImportEdge,
    defines_activity,
    forbidden,
    imports_of,
    module_name,
    product_files,
)

ACTIVITY_MODULES = frozenset(module_name(p) for p in product_files() if defines_activity(p))


def test_every_import_in_the_product_follows_the_rules() -> None:
    broken = [
        f"{edge.importer}:{edge.line} imports {edge.imported}: {why}"
        for path in product_files()
        for edge in imports_of(path)
        if (why := forbidden(edge, activity_modules=ACTIVITY_MODULES)) is not None
    ]
    assert broken == []


def test_the_activity_modules_are_found() -> None:
    assert "activities.actuators.activities" in ACTIVITY_MODULES
    assert "activities.policy.gate" in ACTIVITY_MODULES
    assert "activities.detectors.zscore" not in ACTIVITY_MODULES


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        # A lower floor of api/ never reaches up.
        ("api.core.db", "api.models"),
        ("api.core.settings", "api.services.incidents"),
        ("api.models.incidents", "api.ledger.store"),
        ("api.ledger.store", "api.schemas.incidents"),
        ("api.schemas.admin", "api.services.key_rotation"),
        ("api.services.incidents", "api.http.deps"),
        ("api.services.approvals", "api.routes.approvals"),
        ("api.http.deps", "api.routes.incidents"),
        ("api.slack.actions", "api.routes.slack"),
        ("api.routes.incidents", "api.main"),
        ("api.routes.incidents", "api.cli.main"),
        ("api.cli.audit", "api.routes.audit"),
        # Persistence floors and contracts only for activities; never workflows.
        ("activities.incidents.activities", "api.services.incidents"),
        ("activities.incidents.activities", "api.schemas.incidents"),
        ("activities.deliveries.activities", "workflows.playbook"),
        # Workflows stay deterministic: no api, no activity code.
        ("workflows.playbook", "api.core.settings"),
        ("workflows.playbook", "activities.actuators.activities"),
        # Nothing imports the entry points; bench does not import tests.
        ("api.main", "workers.worker"),
        ("activities.catalog", "workers.worker"),
        ("bench.soak", "tests.support.live_stack"),
        # Only services and the CLI use activities' libraries, and never activity classes.
        ("api.routes.policy", "activities.policy.bundle"),
        ("api.core.temporal", "workflows.playbook"),
        ("api.services.monitors", "activities.actuators.activities"),
        # Contract modules hold only stdlib types.
        ("workflows.types", "workflows.playbook"),
        ("activities.types", "pydantic"),
        # A shared helper stays standard-library only.
        ("workflows.plugin_discovery", "workflows.playbook"),
        ("workflows.plugin_discovery", "pydantic"),
        # A pack is built on the public extension API only.
        ("steward_demo.actions", "activities.actuators.activities"),
        ("steward_demo.actions", "api.core.settings"),
        ("steward_demo.actions", "steward_other.actions"),
    ],
)
def test_a_back_up_arrow_is_refused(importer: str, imported: str) -> None:
    edge = ImportEdge(importer, imported, 1)
    assert forbidden(edge, activity_modules=ACTIVITY_MODULES) is not None


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("api.services.incidents", "api.models"),
        ("api.services.incidents", "workflows.playbooks"),
        ("api.routes.incidents", "api.services.incidents"),
        ("api.cli.detect", "activities.detectors.registry"),
        ("activities.records.activities", "api.ledger.store"),
        ("activities.policy.runtime", "api.models.policy"),
        ("workflows.playbook", "activities.types"),
        ("workflows.playbook", "activities.names"),
        ("workers.worker", "api.services.incidents"),
        ("bench.worker", "workers.worker"),
        ("api.routes.slack", "api.slack.actions"),
        ("activities.plugins", "workflows.plugin_discovery"),
        ("steward_demo.actions", "activities.actuators.registry"),
        ("steward_demo.playbooks", "workflows.playbook"),
        ("steward_demo.playbooks", "steward_demo.actions"),
        ("steward_demo.actions", "asyncssh"),
    ],
)
def test_a_downward_arrow_is_allowed(importer: str, imported: str) -> None:
    edge = ImportEdge(importer, imported, 1)
    assert forbidden(edge, activity_modules=ACTIVITY_MODULES) is None
