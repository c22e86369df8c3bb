"""``steward incidents open`` against a real API, worker, Temporal dev server and demo target."""

from __future__ import annotations

import httpx
import pytest
from temporalio.worker import Worker

from tests.support.cli import Steward

SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")


@SESSION_LOOP
async def test_open_prints_the_id_and_waits_for_the_outcome(
    steward: Steward, api_url: str, worker: Worker, api_keys: dict[str, str], demo: httpx.Client
) -> None:
    opened = await steward(
        "incidents", "open", "--playbook", "high_latency", "--signal", "slow-cli",
        "--param", "replicas=3", "--wait", "--timeout", "120",
        key=api_keys["engineer"],
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    ident = opened.stdout.strip()
    assert ident.startswith("inc-") and "\n" not in ident
    assert f"{ident}: resolved" in opened.stderr
    assert demo.get("/admin/state").json()["replicas"] == 3  # the JSON value 3, not "3"


@SESSION_LOOP
async def test_open_with_bad_input_names_it_and_opens_nothing(
    steward: Steward, api_url: str, worker: Worker, api_keys: dict[str, str]
) -> None:
    no_pair = await steward(
        "incidents", "open", "--playbook", "high_latency", "--param", "replicas",
        key=api_keys["engineer"],
    )  # fmt: skip
    assert no_pair.exit_code == 2
    assert "expected key=value" in no_pair.output
    bad_param = await steward(
        "incidents", "open", "--playbook", "high_latency", "--param", "replicas=500",
        key=api_keys["engineer"],
    )  # fmt: skip
    assert bad_param.exit_code == 2, bad_param.output
    assert "replicas" in bad_param.stderr and "Traceback" not in bad_param.output
    unknown = await steward(
        "incidents", "open", "--playbook", "no_such_playbook", key=api_keys["engineer"]
    )
    assert unknown.exit_code == 2, unknown.output
    assert "no_such_playbook" in unknown.stderr
    listed = await steward("incidents", "--json", key=api_keys["auditor"])
    assert listed.stdout.strip() == "[]"
