"""Schemathesis over the OpenAPI document: every operation, bounded, authenticated.

Checks on every answer: no 5xx, the status code is one the document declares, the
content type is the declared one, and the body matches the declared schema. Two passes:

- every operation, as a key with every role but admin: it cannot manage keys, so fuzzing
  cannot revoke or expire the key it runs as;
- the admin-only operations (keys, Slack links, policy changes, refusals) as an admin, whose
  own key is never a target; the key operations also hit real keys made for the purpose.

Schemathesis' coverage phase sends each operation's boundary and invalid values (missing
fields, wrong types, values just outside their limits); then Hypothesis, derandomized, a fixed
small number of valid and invalid examples per operation. The run takes about a minute. The
API is served on a socket with a real worker, the session's Temporal dev server and the demo
target.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import assume
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from api.core.db import get_engine, reset_engine
from api.core.settings import get_settings
from api.main import create_app
from api.services.keys import create_api_key
from bench.harness.servers import serve_app
from tests.api.http.fuzz_world import FuzzWorld, worker_in_thread
from tests.support.environment import SIGNING_KEY

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 12
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
            "mode": "all",
        },
        "phases": {"coverage": {"enabled": True}, "stateful": {"enabled": False}},
    }
)
ADMIN_ONLY = r"^/api/v1/(keys|slack/links|policy/|refusals)"
# Every role but admin: it reads and opens everything, and manages no key.
FUZZER_ROLES = ["operator", "engineer", "auditor"]
# What each operation answered, by status: printed at the end (run with -s to see it).
ANSWERS: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="module")
def fuzz_world(
    tmp_path_factory: pytest.TempPathFactory, demo_url: str, temporal_env: WorkflowEnvironment
) -> Iterator[FuzzWorld]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    env = {
        "STEWARD_HOME": str(root / "home"),
        "STEWARD_DATABASE_URL": f"sqlite:///{root / 'steward.db'}",
        "STEWARD_SIGNING_KEY": SIGNING_KEY,
        "STEWARD_TARGETS": f'{{"demo": "{demo_url}"}}',
        "STEWARD_TASK_QUEUE": f"tq-fuzz-{uuid.uuid4().hex[:8]}",
        "STEWARD_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        # The rate limit answers 429 (declared); fuzzing wants the routes behind it.
        "STEWARD_RATE_LIMIT_PER_MINUTE": "100000",
        "STEWARD_RATE_LIMIT_BURST": "100000",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        reset_engine()
        try:
            settings, engine = get_settings(), get_engine()
            with Session(engine) as session:
                _, fuzzer = create_api_key(session, "fuzzer", FUZZER_ROLES)
                admin_row, admin = create_api_key(session, "fuzz-admin", ["admin"])
                victims = [create_api_key(session, f"victim-{n}", ["operator"])[0] for n in "ab"]
                session.commit()
                admin_id, victim_ids = admin_row.id, [v.id for v in victims]
            with worker_in_thread(settings, engine):
                app = create_app()
                with serve_app(app) as url:
                    yield FuzzWorld(
                        url=url,
                        fuzzer_key=fuzzer,
                        admin_key=admin,
                        admin_key_id=admin_id,
                        victim_key_ids=victim_ids,
                    )
                    _delete_monitors(url, admin)
        finally:
            reset_engine()
            get_settings.cache_clear()
    print(json.dumps(summary(), indent=1))


def summary() -> dict[str, Any]:
    """How many operations were fuzzed, how many requests sent, and what they answered."""
    statuses: Counter[int] = Counter()
    succeeded = set()
    for (operation, status), count in ANSWERS.items():
        statuses[status] += count
        if status < 300:
            succeeded.add(operation)
    return {
        "operations": len({operation for operation, _ in ANSWERS}),
        "operations_with_a_2xx": len(succeeded),
        "requests": sum(ANSWERS.values()),
        "by_status": dict(sorted(statuses.items())),
    }


def _delete_monitors(url: str, admin: str) -> None:
    """Delete the monitors fuzzing made, and so their Schedules on the shared dev server."""
    with httpx.Client(base_url=url, headers={"X-API-Key": admin}, timeout=30) as api:
        for monitor in api.get("/api/v1/monitors").json():
            api.delete(f"/api/v1/monitors/{monitor['name']}").raise_for_status()


# The document does not depend on settings: the routes and their models are fixed.
schema = schemathesis.openapi.from_dict(create_app().openapi(), config=CONFIG)


def _as(case: Any, key: str) -> dict[str, str]:
    """Authenticate ``case`` with ``key``, replacing any key header fuzzing made up.

    Bad keys are covered by tests/api/http/test_security.py; here every case gets past the door.
    """
    made_up = {"x-api-key", "authorization"}
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in made_up}
    return {"X-API-Key": key}


@schema.parametrize()
def test_every_operation_as_a_key_that_cannot_manage_keys(case: Any, fuzz_world: FuzzWorld) -> None:
    answer = case.call_and_validate(
        base_url=fuzz_world.url, headers=_as(case, fuzz_world.fuzzer_key), checks=CHECKS, timeout=60
    )
    ANSWERS[(case.operation.label, answer.status_code)] += 1


@schema.include(path_regex=ADMIN_ONLY).parametrize()
def test_admin_operations_as_an_admin_that_never_targets_its_own_key(
    case: Any, fuzz_world: FuzzWorld
) -> None:
    key_id = (case.path_parameters or {}).get("key_id")
    if key_id is not None:
        assume(key_id != fuzz_world.admin_key_id)
        # Half the cases aim at real keys, so rotation, expiry and revocation really happen.
        if sum(map(ord, key_id)) % 2 == 0:
            victims = fuzz_world.victim_key_ids
            case.path_parameters["key_id"] = victims[len(key_id) % len(victims)]
    answer = case.call_and_validate(
        base_url=fuzz_world.url, headers=_as(case, fuzz_world.admin_key), checks=CHECKS, timeout=60
    )
    ANSWERS[(f"admin {case.operation.label}", answer.status_code)] += 1
