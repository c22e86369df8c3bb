"""The files ``steward playbook new NAME`` writes, as templates over the names it derives.

Placeholders are ``{{name}}`` (the playbook's workflow type and Python package), ``{{dist}}``
(the distribution name), ``{{cls}}`` (the playbook's class) and ``{{title}}``. Double braces,
so that the templates' own Python and TOML braces need no escaping.
"""

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{{dist}}"
version = "0.1.0"
description = "Steward playbook {{name}}: turn on a safe-mode flag, then verify the service"
requires-python = ">=3.11"
dependencies = ["steward"]

[project.optional-dependencies]
test = ["steward[testing]"]

# Steward finds these when the package is installed in the worker's environment
# (steward plugins lists them).
[project.entry-points."steward.playbooks"]
{{name}} = "{{name}}.playbook:{{cls}}"

[project.entry-points."steward.actuators"]
"{{name}}.set_flag" = "{{name}}.actuators:SetFlag"

[project.entry-points."steward.checks"]
"{{name}}.healthy" = "{{name}}.actuators:Healthy"

[tool.setuptools]
packages = ["{{name}}"]

[tool.pytest.ini_options]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "session"
asyncio_default_test_loop_scope = "session"
"""

INIT = '''\
"""{{title}}: a Steward playbook package."""
'''

PARAMS = '''\
"""The playbook's parameters (pydantic: imported outside the workflow sandbox)."""

from __future__ import annotations

from pydantic import Field

from workflows.playbook_params import PlaybookParams, VerifyWithin


class {{cls}}Params(PlaybookParams):
    """Parameters of ``{{name}}``, checked when an incident opens with it."""

    flag: str = Field(
        default="safe_mode", pattern=r"^[A-Za-z0-9_.-]{1,100}$", description="The flag to turn on"
    )
    verify_within_seconds: VerifyWithin = 20
'''

ACTUATORS = '''\
"""The package's actuator and check: a service's admin API over HTTP.

They speak the admin API of Steward's demo target (``GET /admin/state``,
``PUT /admin/flags/{flag}``, ``GET /healthz``); point them at your own service's API.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, Field

from activities.actuators.registry import (
    ActionRefusedError,
    Actuator,
    ActuatorContext,
    Check,
    CheckResult,
    actuator,
    check,
)


class FlagParams(BaseModel):
    """Which service, which flag, and its new value."""

    service: str = Field(min_length=1, max_length=100)
    flag: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    enabled: bool


class ServiceParams(BaseModel):
    """Which service."""

    service: str = Field(min_length=1, max_length=100)


async def admin_call(
    ctx: ActuatorContext, service: str, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Call the service's admin API with the step's idempotency key.

    Raises:
        ActionRefusedError: The service answered 4xx: a retry would get the same answer.
        httpx.HTTPError: The service could not be reached or failed (5xx): retried.
    """
    url = ctx.settings.target_url(service) + path
    headers = {"Idempotency-Key": ctx.idempotency_key} if ctx.idempotency_key else {}
    response = await ctx.http.request(method, url, json=body, headers=headers)
    if 400 <= response.status_code < 500:
        raise ActionRefusedError(f"{method} {path} answered {response.status_code}")
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


@actuator("{{name}}.set_flag", tier="warn", params=FlagParams)
class SetFlag(Actuator[FlagParams]):
    """Turn a feature flag on or off; undo puts back the value it had before."""

    async def snapshot(self, ctx: ActuatorContext, p: FlagParams) -> dict[str, Any]:
        """Record the flag's current value (None when it is not set)."""
        state = await admin_call(ctx, p.service, "GET", "/admin/state")
        return {"enabled": state.get("flags", {}).get(p.flag)}

    async def apply(self, ctx: ActuatorContext, p: FlagParams) -> dict[str, Any]:
        """Set the flag (the idempotency key makes a retried call a no-op)."""
        body = {"enabled": p.enabled}
        return await admin_call(ctx, p.service, "PUT", f"/admin/flags/{p.flag}", body)

    async def undo(
        self, ctx: ActuatorContext, p: FlagParams, before: dict[str, Any]
    ) -> dict[str, Any]:
        """Restore the recorded value (a flag that was not set is turned off)."""
        body = {"enabled": bool(before.get("enabled"))}
        return await admin_call(ctx, p.service, "PUT", f"/admin/flags/{p.flag}", body)


@check("{{name}}.healthy", params=ServiceParams)
class Healthy(Check[ServiceParams]):
    """The service answers its health endpoint with 200."""

    async def run(self, ctx: ActuatorContext, p: ServiceParams) -> CheckResult:
        """Ask once."""
        try:
            response = await ctx.http.get(ctx.settings.target_url(p.service) + "/healthz")
        except httpx.HTTPError as exc:
            return CheckResult(False, {}, f"health endpoint unreachable: {exc}")
        ok = response.status_code == 200
        return CheckResult(ok, {"status": response.status_code}, f"healthz {response.status_code}")
'''

PLAYBOOK = '''\
"""The playbook: turn the service's safe-mode flag on, then verify it is healthy."""

from __future__ import annotations

from temporalio import workflow

from workflows.playbook import Playbook
from workflows.types import IncidentInput, PlaybookOutcome

with workflow.unsafe.imports_passed_through():
    from {{name}}.params import {{cls}}Params


@workflow.defn(name="{{name}}")
class {{cls}}(Playbook):
    """Turn a flag on and verify the service; a failed verification turns it back.

    Params (see ``{{cls}}Params``): ``flag`` (default ``safe_mode``) and
    ``verify_within_seconds`` (default 20).
    """

    params_model = {{cls}}Params

    @workflow.run
    async def run(self, incident: IncidentInput) -> PlaybookOutcome:
        """Run the playbook."""
        return await self.execute(incident)

    async def remediate(self, incident: IncidentInput) -> None:
        """Act, then verify. Every act() is gated by policy and undone if a later step fails."""
        params = self.params_as({{cls}}Params)
        await self.act(
            "{{name}}.set_flag",
            {"service": incident.service, "flag": params.flag, "enabled": True},
        )
        await self.verify(
            "{{name}}.healthy",
            {"service": incident.service},
            within_seconds=params.verify_within_seconds,
        )
'''

TEST = '''\
"""Tests of {{name}} with Steward's test kit (steward.testing, docs/testing.md)."""

from __future__ import annotations

from pathlib import Path

from steward.testing import (
    Allow,
    Approve,
    NeedsApproval,
    PlaybookHarness,
    Reject,
    assert_replays,
)
from {{name}}.playbook import {{cls}}

# Recorded by the first run of test_resolves; commit it, so later changes must replay it.
HISTORY = Path(__file__).parent / "histories" / "{{name}}_resolved.json"


async def test_resolves() -> None:
    async with PlaybookHarness(playbooks=[{{cls}}]) as harness:
        flag = harness.fake_actuator("{{name}}.set_flag", before={"enabled": False})
        harness.fake_check("{{name}}.healthy", results=[False, True])
        harness.script_policy("{{name}}.set_flag", Allow())
        result = await harness.run({{cls}}, service="demo")
    assert result.status == "resolved", result.outcome
    assert flag.applied == [{"service": "demo", "flag": "safe_mode", "enabled": True}]
    assert result.compensated == []
    assert result.ledger_kinds()[0] == "opened" and result.ledger_intact
    if not HISTORY.exists():
        result.save_history(HISTORY)


async def test_a_failed_verification_turns_the_flag_back() -> None:
    async with PlaybookHarness(playbooks=[{{cls}}]) as harness:
        flag = harness.fake_actuator("{{name}}.set_flag", before={"enabled": False})
        harness.fake_check("{{name}}.healthy", results=[False])
        harness.script_policy("{{name}}.set_flag", Allow())
        result = await harness.run({{cls}}, params={"verify_within_seconds": 1})
    assert result.status == "rolled_back", result.outcome
    assert flag.undone == [{"enabled": False}]
    assert "undo" in result.ledger_kinds()


async def test_waits_for_approval() -> None:
    async with PlaybookHarness(playbooks=[{{cls}}]) as harness:
        flag = harness.fake_actuator("{{name}}.set_flag")
        harness.fake_check("{{name}}.healthy")
        harness.script_policy("{{name}}.set_flag", NeedsApproval())
        approved = await harness.run({{cls}}, approvals=[Approve(by="ann")])
        rejected = await harness.run({{cls}}, approvals=[Reject(by="ann")])
    assert approved.status == "resolved" and rejected.status == "rejected"
    assert len(flag.applied) == 1


async def test_the_recorded_history_still_replays() -> None:
    if not HISTORY.exists():
        await test_resolves()
    outcome = await assert_replays(HISTORY, playbooks=[{{cls}}])
    assert outcome.compatible
'''

README = """\
# {{dist}}

A Steward playbook package: the playbook `{{name}}`, the actuator `{{name}}.set_flag` and the
check `{{name}}.healthy`, registered through entry points (`pyproject.toml`).

## Test

In the Python environment where Steward is installed:

```sh
pip install -e .
pytest
```

The tests run the playbook on a real Steward worker in Temporal's time-skipping test server,
with fake actuators, scripted policy decisions and scripted approvals (`steward.testing`). The
first run records `tests/histories/{{name}}_resolved.json`: commit it, and every later change
to the playbook must still replay it.

## Install into the worker

Install the package into the environment of Steward's worker (`pip install -e .` there too),
then restart the worker. `steward plugins` lists the playbook, the actuator and the check.

## Run

```sh
curl -X POST http://127.0.0.1:8000/api/v1/incidents -H "X-API-Key: $KEY" \\
  -H 'Content-Type: application/json' \\
  -d '{"service": "demo", "signal": "errors", "severity": "high", "playbook": "{{name}}"}'
```
"""

FILES: dict[str, str] = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "{{name}}/__init__.py": INIT,
    "{{name}}/params.py": PARAMS,
    "{{name}}/actuators.py": ACTUATORS,
    "{{name}}/playbook.py": PLAYBOOK,
    "tests/test_{{name}}.py": TEST,
}
"""Every file of a new package, by path (itself a template) relative to the package's folder."""
