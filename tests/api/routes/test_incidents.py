"""The REST API over a real socket, with the real worker, dev server and demo target."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.models import Approval, ApprovalVote, RefusedApproval
from tests.support.incidents import body, wait_status

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_open_incident_runs_the_playbook_and_dedups(
    api_url: str,
    worker: Worker,
    api_keys: dict[str, str],
    demo: httpx.Client,
    temporal_env: WorkflowEnvironment,
) -> None:
    demo.post("/admin/faults", json={"latency_ms": 400})
    headers = {"X-API-Key": api_keys["engineer"]}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        first = await api.post("/api/v1/incidents", json=body(), headers=headers)
        assert first.status_code == 201, first.text
        again = await api.post("/api/v1/incidents", json=body(), headers=headers)
        assert again.status_code == 200 and again.json()["deduplicated"] is True
        ident = first.json()["id"]
        assert again.json()["id"] == ident
        found = await wait_status(api, ident, api_keys["auditor"], {"resolved", "failed"})
        assert found["status"] == "resolved"
        assert [s["name"] for s in found["steps"]] == ["demo.scale", "demo.p95_below"]
        assert found["steps"][0]["decision"]["outcome"] == "allow"
        listed = (
            await api.get("/api/v1/incidents?status=resolved&service=demo", headers=headers)
        ).json()
        assert [i["id"] for i in listed] == [ident]
        after = await api.post("/api/v1/incidents", json=body(), headers=headers)
        assert after.status_code == 200 and after.json()["id"] == ident  # finished: still one
    executions = [w async for w in temporal_env.client.list_workflows(f'WorkflowId = "{ident}"')]
    assert len(executions) == 1


async def test_approval_over_rest_with_refusals_recorded(
    api_url: str,
    worker: Worker,
    api_keys: dict[str, str],
    demo: httpx.Client,
    engine: Engine,
) -> None:
    demo.post("/admin/faults", json={"error_rate": 0.4})
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        opened = await api.post(
            "/api/v1/incidents",
            json=body(signal="errors", playbook="error_burst"),
            headers={"X-API-Key": api_keys["operator"]},
        )
        ident = opened.json()["id"]
        await wait_status(api, ident, api_keys["operator"], {"awaiting_approval"})
        pending = (
            await api.get("/api/v1/approvals", headers={"X-API-Key": api_keys["auditor"]})
        ).json()
        approval = next(a for a in pending if a["incident_id"] == ident)
        assert approval["actuator"] == "demo.restart" and approval["reasons"]
        url = f"/api/v1/approvals/{approval['id']}/decision"
        refused = await api.post(
            url, json={"decision": "approve"}, headers={"X-API-Key": api_keys["auditor"]}
        )
        assert refused.status_code == 403
        assert "needs one of the roles operator" in refused.json()["detail"]
        bad = await api.post(
            url, json={"decision": "maybe"}, headers={"X-API-Key": api_keys["operator"]}
        )
        assert bad.status_code == 422 and "decision" in bad.text
        ok = await api.post(
            url,
            json={"decision": "approve", "comment": "go"},
            headers={"X-API-Key": api_keys["operator2"]},
        )
        assert ok.status_code == 200 and ok.json()["status"] == "approved", ok.text
        late = await api.post(
            url, json={"decision": "approve"}, headers={"X-API-Key": api_keys["operator"]}
        )
        assert late.status_code == 409
        found = await wait_status(
            api, ident, api_keys["operator"], {"resolved", "failed", "rolled_back"}
        )
        assert found["status"] == "resolved"
        votes = found["approvals"][0]["votes"]
        assert [(v["principal"], v["decision"]) for v in votes] == [("operator2-user", "approve")]
    with Session(engine) as session:
        refusals = session.exec(select(RefusedApproval).order_by(RefusedApproval.id)).all()
        assert [(r.principal, r.approval_id) for r in refusals] == [
            ("auditor-user", approval["id"]),
            ("operator-user", approval["id"]),
        ]
        assert "operator" in refusals[0].reason


@pytest.mark.usefixtures("temporal_env")
async def test_bad_input_and_auth(api_url: str, api_keys: dict[str, str], engine: Engine) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as api:
        assert (await api.get("/api/v1/incidents")).status_code == 401
        wrong = await api.get("/api/v1/incidents", headers={"X-API-Key": "stw_nothing_here"})
        assert wrong.status_code == 401
        headers = {"X-API-Key": api_keys["engineer"]}
        missing = await api.post("/api/v1/incidents", json={"service": "demo"}, headers=headers)
        assert missing.status_code == 422 and "severity" in missing.text
        unknown = await api.post("/api/v1/incidents", json=body(playbook="nope"), headers=headers)
        assert unknown.status_code == 422
        assert "known playbooks: error_burst, high_latency" in unknown.json()["detail"]
        service = await api.post("/api/v1/incidents", json=body(service="nowhere"), headers=headers)
        assert service.status_code == 422 and "known services" in service.json()["detail"]
        auditor = await api.post(
            "/api/v1/incidents", json=body(), headers={"X-API-Key": api_keys["auditor"]}
        )
        assert auditor.status_code == 403
        assert (await api.get("/api/v1/incidents?status=weird", headers=headers)).status_code == 422
        assert (await api.get("/api/v1/incidents/inc-nope", headers=headers)).status_code == 404
        nobody = await api.post(
            "/api/v1/approvals/nope.1/decision", json={"decision": "approve"}, headers=headers
        )
        assert nobody.status_code == 404
        assert (await api.get("/api/v1/incidents", headers=headers)).json() == []
        assert (await api.get("/healthz")).json()["database"] == "ok"


async def test_simulate_mode_returns_the_plan_and_applies_nothing(
    api_url: str, worker: Worker, api_keys: dict[str, str], demo: httpx.Client
) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as api:
        opened = await api.post(
            "/api/v1/incidents",
            json=body(signal="p95-sim", mode="simulate", params={"replicas": 6}),
            headers={"X-API-Key": api_keys["engineer"]},
        )
    assert opened.status_code == 201, opened.text
    answer = opened.json()
    assert answer["status"] == "resolved" and answer["mode"] == "simulate"
    assert [(p["actuator"], p["params"]["replicas"]) for p in answer["plan"]] == [("demo.scale", 6)]
    assert demo.get("/admin/actions").json() == []


async def test_a_vote_recorded_but_lost_by_temporal_is_sent_again(
    api_url: str,
    worker: Worker,
    api_keys: dict[str, str],
    demo: httpx.Client,
    engine: Engine,
) -> None:
    # The worker counted a vote and recorded it (a local activity writes at once), then the
    # Temporal server died before it stored the task that carried the vote: the rows say
    # "approved" while the run still waits. The voter, who got no answer, votes again.
    demo.post("/admin/faults", json={"error_rate": 0.4})
    operator = {"X-API-Key": api_keys["operator"]}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as api:
        opened = await api.post(
            "/api/v1/incidents",
            json=body(signal="errors-lost", playbook="error_burst"),
            headers=operator,
        )
        ident = opened.json()["id"]
        await wait_status(api, ident, api_keys["operator"], {"awaiting_approval"})
        pending = (await api.get("/api/v1/approvals", headers=operator)).json()
        approval_id = next(a["id"] for a in pending if a["incident_id"] == ident)
        with Session(engine) as session:
            row = session.get(Approval, approval_id)
            assert row is not None
            row.status = "approved"
            session.add(row)
            session.add(
                ApprovalVote(
                    approval_id=approval_id,
                    principal="operator2-user",
                    roles=["operator"],
                    decision="approve",
                )
            )
            session.commit()
        again = await api.post(
            f"/api/v1/approvals/{approval_id}/decision",
            json={"decision": "approve"},
            headers={"X-API-Key": api_keys["operator2"]},
        )
        assert again.status_code == 200, again.text
        # The workflow got the vote this time: the incident runs on to its end.
        found = await wait_status(
            api, ident, api_keys["operator"], {"resolved", "failed", "rolled_back"}
        )
        assert found["status"] == "resolved"
        votes = found["approvals"][0]["votes"]
        assert [(v["principal"], v["decision"]) for v in votes] == [("operator2-user", "approve")]
