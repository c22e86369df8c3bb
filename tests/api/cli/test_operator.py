"""The operator CLI against a real API, worker, Temporal dev server and demo target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.worker import Worker

from bench.harness.servers import free_port
from tests.support.cli import Steward
from tests.support.incidents import body, wait_status

SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")
MARKUP = "[bold red]not markup[/bold red] <!channel> `rm -rf /`"


async def open_incident(api_url: str, key: str, **changes: Any) -> str:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        opened = await api.post(
            "/api/v1/incidents", json=body(**changes), headers={"X-API-Key": key}
        )
        assert opened.status_code == 201, opened.text
        ident = str(opened.json()["id"])
        await wait_status(api, ident, key, {"awaiting_approval"})
        return ident


@SESSION_LOOP
async def test_list_inspect_and_approve_from_the_cli(
    steward: Steward,
    api_url: str,
    worker: Worker,
    api_keys: dict[str, str],
    demo: httpx.Client,
) -> None:
    demo.post("/admin/faults", json={"error_rate": 0.4})
    ident = await open_incident(
        api_url, api_keys["engineer"], signal="errors-cli", playbook="error_burst", summary=MARKUP
    )
    listed = await steward("incidents", "--json", key=api_keys["auditor"])
    assert listed.exit_code == 0, listed.output
    assert [i["id"] for i in json.loads(listed.stdout)] == [ident]
    filtered = await steward(
        "incidents", "--status", "resolved", "--service", "demo", "--json", key=api_keys["auditor"]
    )
    assert json.loads(filtered.stdout) == []
    table = await steward("incidents", key=api_keys["auditor"])
    assert ident in table.stdout and "awaiting_approval" in table.stdout

    queue = await steward("approvals", "--json", key=api_keys["operator"])
    approval = json.loads(queue.stdout)[0]
    assert approval["incident_id"] == ident and approval["actuator"] == "demo.restart"
    shown = await steward("approvals", key=api_keys["operator"])
    assert approval["id"] in shown.stdout and "1 of operator" in shown.stdout

    refused = await steward("approve", approval["id"], key=api_keys["auditor"])
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: 403: auditor-user may not decide this approval")
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.output

    approved = await steward("approve", approval["id"], "-m", MARKUP, key=api_keys["operator"])
    assert approved.exit_code == 0, approved.output
    assert f"Counted your approve of {approval['id']}; the approval is approved." in approved.stdout
    late = await steward("reject", approval["id"], key=api_keys["operator2"])
    assert (
        late.exit_code == 1 and "409: approval" in late.stderr and "already approved" in late.stderr
    )

    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        await wait_status(api, ident, api_keys["auditor"], {"resolved", "failed", "rolled_back"})
    detail = await steward("incident", ident, "--json", key=api_keys["auditor"])
    found = json.loads(detail.stdout)
    assert found["status"] == "resolved" and found["summary"] == MARKUP
    events = [event["event"] for event in found["timeline"]]
    assert events[0] == "opened"
    assert events.index(f"approval {approval['id']} requested") < events.index(
        "approve by operator-user"
    )
    assert f"approval {approval['id']} approved" in events
    assert "step 1 act demo.restart: applied" in events and events[-1] == "outcome: resolved"
    vote = next(e for e in found["timeline"] if e["event"] == "approve by operator-user")
    assert vote["detail"] == f"roles operator: {MARKUP}"

    view = await steward("incident", ident, key=api_keys["auditor"])
    # Stored text is shown as it was written: rich markup in it is not interpreted.
    assert MARKUP in view.stdout and "Timeline" in view.stdout
    assert "policy: approval_required" in view.stdout


@SESSION_LOOP
async def test_reject_stops_the_playbook(
    steward: Steward,
    api_url: str,
    worker: Worker,
    api_keys: dict[str, str],
    demo: httpx.Client,
) -> None:
    demo.post("/admin/faults", json={"error_rate": 0.4})
    ident = await open_incident(
        api_url, api_keys["operator"], signal="errors-reject", playbook="error_burst"
    )
    rejected = await steward(
        "reject", f"{ident}.1", "--comment", "not now", key=api_keys["operator2"]
    )
    assert rejected.exit_code == 0, rejected.output
    assert "the approval is rejected" in rejected.stdout
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        found = await wait_status(api, ident, api_keys["auditor"], {"rejected"})
    assert found["steps"][0]["status"] == "rejected"
    watched = await steward(
        "incidents",
        "--watch",
        "--count",
        "2",
        "--interval",
        "0.2",
        "--json",
        key=api_keys["auditor"],
    )
    lines = watched.stdout.strip().splitlines()
    assert watched.exit_code == 0 and len(lines) == 2
    assert all(json.loads(line)[0]["status"] == "rejected" for line in lines)
    live = await steward("incidents", "--watch", "--count", "1", key=api_keys["auditor"])
    assert live.exit_code == 0 and ident in live.stdout


@SESSION_LOOP
async def test_errors_are_one_line_with_documented_exit_codes(
    steward: Steward, api_url: str, api_keys: dict[str, str], tmp_path: Path
) -> None:
    unknown = await steward("incident", "inc-nope", key=api_keys["auditor"])
    assert unknown.exit_code == 2 and unknown.stderr == "error: 404: no incident 'inc-nope'\n"
    wrong = await steward("incidents", key="stw_000000000000_" + "x" * 43)
    assert wrong.exit_code == 1 and wrong.stderr == "error: 401: the API key is not valid\n"
    missing = await steward("approvals", key=None)
    assert missing.exit_code == 2 and "no API key configured" in missing.stderr
    bad_status = await steward("approvals", "--status", "maybe", key=api_keys["auditor"])
    assert bad_status.exit_code == 2 and "unknown status 'maybe'" in bad_status.stderr
    closed = f"http://127.0.0.1:{free_port()}"
    unreachable = await steward("incidents", key=api_keys["auditor"], STEWARD_API_URL=closed)
    assert unreachable.exit_code == 3 and "cannot reach the Steward API" in unreachable.stderr
    usage = await steward("approve", key=api_keys["operator"])
    assert usage.exit_code == 2  # click's own usage error: missing argument

    config = tmp_path / "steward.toml"
    config.write_text(f'api_url = "{api_url}"\napi_key = "{api_keys["auditor"]}"\n')
    from_file = await steward(
        "incidents", "--json", key=None, STEWARD_API_URL=None, STEWARD_CONFIG=str(config)
    )
    assert from_file.exit_code == 0 and json.loads(from_file.stdout) == []
    # The environment wins over the file.
    overridden = await steward(
        "incidents", key="stw_000000000000_" + "y" * 43, STEWARD_CONFIG=str(config)
    )
    assert overridden.exit_code == 1
    config.write_text("api_url = [not toml")
    broken = await steward("incidents", key=None, STEWARD_CONFIG=str(config))
    assert broken.exit_code == 2 and "cannot read" in broken.stderr
    absent = await steward("incidents", key=None, STEWARD_CONFIG=str(tmp_path / "none.toml"))
    assert absent.exit_code == 2 and "does not exist" in absent.stderr


def test_a_real_process_exits_3_without_a_traceback(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = {
        "PATH": str(Path(sys.executable).parent),
        "HOME": str(tmp_path),
        "STEWARD_API_URL": closed,
        "STEWARD_API_KEY": "stw_000000000000_" + "z" * 43,
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "steward"), "incidents"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("error: cannot reach the Steward API at " + closed)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
