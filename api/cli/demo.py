"""``steward demo``: one scripted scenario against a running stack.

It exits 0 only when all three expected outcomes happen: an auto-remediated incident,
an approval-gated incident approved through the REST API, and a failed verification
that rolled back.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from api.cli.bootstrap import ensure_demo_keys
from api.core.settings import get_settings
from api.models.incidents import FINAL_STATUSES

TERMINAL = {str(status) for status in FINAL_STATUSES}
console = Console()


@dataclass
class Result:
    """One scenario's expectation and what happened."""

    name: str
    incident_id: str
    expected: str
    actual: str
    detail: str

    @property
    def ok(self) -> bool:
        """Whether the scenario ended as expected."""
        return self.expected == self.actual


class DemoClient:
    """Talks to the Steward API and the demo target for the scenario."""

    def __init__(self, api_url: str, demo_url: str, keys: dict[str, str], timeout: float) -> None:
        self.api = httpx.Client(base_url=api_url, timeout=15)
        self.demo = httpx.Client(base_url=demo_url, timeout=15)
        self.keys = keys
        self.timeout = timeout
        self.run_tag = uuid.uuid4().hex[:6]

    def as_(self, who: str) -> dict[str, str]:
        """Headers that authenticate as ``who``."""
        return {"X-API-Key": self.keys[who]}

    def open(self, signal: str, playbook: str, **params: Any) -> str:
        """Open an incident on the demo service and return its id."""
        body = {
            "service": "demo",
            "signal": f"{signal}-{self.run_tag}",  # a fresh fingerprint for every demo run
            "severity": "high",
            "playbook": playbook,
            "params": params,
        }
        response = self.api.post("/api/v1/incidents", json=body, headers=self.as_("responder"))
        response.raise_for_status()
        return str(response.json()["id"])

    def incident(self, incident_id: str) -> dict[str, Any]:
        """Fetch an incident's detail."""
        response = self.api.get(f"/api/v1/incidents/{incident_id}", headers=self.as_("oncall"))
        response.raise_for_status()
        return dict(response.json())

    def wait(self, incident_id: str, until: set[str]) -> dict[str, Any]:
        """Poll until the incident's status is one of ``until``."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            found = self.incident(incident_id)
            if found["status"] in until:
                return found
            time.sleep(0.3)
        raise TimeoutError(f"incident {incident_id} did not reach {sorted(until)} in time")

    def approve_pending(self, incident_id: str) -> None:
        """Approve every pending approval of the incident as the on-call operator."""
        pending = self.api.get("/api/v1/approvals", headers=self.as_("oncall")).json()
        for approval in pending:
            if approval["incident_id"] == incident_id:
                self.api.post(
                    f"/api/v1/approvals/{approval['id']}/decision",
                    json={"decision": "approve", "comment": "steward demo"},
                    headers=self.as_("oncall"),
                ).raise_for_status()


def scenario(client: DemoClient) -> list[Result]:
    """Run the three incidents and report what each ended as."""
    results = []
    client.demo.post("/admin/reset").raise_for_status()
    client.demo.post("/admin/faults", json={"latency_ms": 400}).raise_for_status()
    with console.status("1/3 high latency: auto-remediation (scale out, verify p95)"):
        ident = client.open("latency", "high_latency")
        found = client.wait(ident, TERMINAL)
    results.append(Result("auto-remediated", ident, "resolved", found["status"], _reason(found)))

    client.demo.post("/admin/reset").raise_for_status()
    client.demo.post("/admin/faults", json={"error_rate": 0.3}).raise_for_status()
    with console.status("2/3 error burst: restart needs an operator; approving over REST"):
        ident = client.open("errors", "error_burst")
        client.wait(ident, {"awaiting_approval"} | TERMINAL)
        client.approve_pending(ident)
        found = client.wait(ident, TERMINAL)
    results.append(Result("approval-gated", ident, "resolved", found["status"], _reason(found)))

    client.demo.post("/admin/reset").raise_for_status()
    client.demo.post("/admin/faults", json={"latency_ms": 3000}).raise_for_status()
    with console.status("3/3 latency that scaling cannot fix: verification fails, rollback"):
        ident = client.open("latency-severe", "high_latency", verify_within_seconds=3)
        found = client.wait(ident, TERMINAL)
    replicas = client.demo.get("/admin/state").json()["replicas"]
    actual = found["status"] if replicas == 2 else f"{found['status']} (replicas {replicas})"
    results.append(Result("rolled back", ident, "rolled_back", actual, _reason(found)))
    client.demo.post("/admin/reset").raise_for_status()
    return results


def _reason(found: dict[str, Any]) -> str:
    return str((found.get("outcome") or {}).get("reason", ""))


def run(api_url: str | None, timeout: float) -> int:
    """Run the demo; return the process exit code."""
    settings = get_settings()
    api_url = api_url or f"http://{settings.api_host}:{settings.api_port}"
    demo_url = settings.target_url("demo")
    try:
        httpx.get(f"{api_url}/healthz", timeout=5).raise_for_status()
        httpx.get(f"{demo_url}/healthz", timeout=5).raise_for_status()
    except httpx.HTTPError as exc:
        console.print(f"[red]the stack is not running ({exc}); start it with 'make up'[/red]")
        return 2
    client = DemoClient(api_url, demo_url, ensure_demo_keys(), timeout)
    try:
        results = scenario(client)
    except (httpx.HTTPError, TimeoutError) as exc:
        console.print(f"[red]demo failed: {exc}[/red]")
        return 1
    table = Table("scenario", "incident", "expected", "actual", "reason")
    for r in results:
        style = "green" if r.ok else "red"
        table.add_row(r.name, r.incident_id, r.expected, f"[{style}]{r.actual}[/]", r.detail)
    console.print(table)
    return 0 if all(r.ok for r in results) else 1
