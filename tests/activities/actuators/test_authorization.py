"""An actuator activity refuses to run without a valid decision bound to its call."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.actuators.activities import ActuatorActivities
from activities.policy.signing import DecisionSigner, params_sha256
from activities.types import ActuatorCall, Authorization, UndoCall
from api.core.settings import Settings
from tests.support.environment import SIGNING_KEY

pytestmark = pytest.mark.asyncio(loop_scope="session")

WORKFLOW_ID = "inc-authz-test"
PARAMS = {"service": "demo", "replicas": 5}


def authorization(signer: DecisionSigner, **changes: object) -> Authorization:
    auth = Authorization(
        workflow_id=WORKFLOW_ID,
        step=1,
        actuator="demo.scale",
        params_sha256=params_sha256(PARAMS),
        bundle_sha256="b" * 64,
        approved_by=[],
    )
    return signer.sign(replace(auth, **changes))  # type: ignore[arg-type]


@pytest.fixture
def activity_env() -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = replace(env.info, workflow_id=WORKFLOW_ID)
    return env


async def apply(env: ActivityEnvironment, settings: Settings, call: ActuatorCall) -> object:
    async with httpx.AsyncClient(timeout=5) as http:
        acts = ActuatorActivities(http, settings, DecisionSigner(SIGNING_KEY.encode()))
        return await env.run(acts.apply, call)


async def refused(env: ActivityEnvironment, settings: Settings, call: ActuatorCall) -> str:
    with pytest.raises(ApplicationError) as err:
        await apply(env, settings, call)
    assert err.value.type == "Unauthorized" and err.value.non_retryable
    return str(err.value)


async def test_apply_without_a_decision_is_refused(
    activity_env: ActivityEnvironment, settings: Settings, demo: httpx.Client
) -> None:
    message = await refused(
        activity_env,
        settings,
        ActuatorCall(step=1, actuator="demo.scale", params=PARAMS, authorization=None),
    )
    assert "no policy decision" in message
    assert demo.get("/admin/actions").json() == []


async def test_forged_and_misbound_decisions_are_refused(
    activity_env: ActivityEnvironment, settings: Settings, demo: httpx.Client
) -> None:
    signer = DecisionSigner(SIGNING_KEY.encode())
    forged = DecisionSigner(b"someone-else-entirely-0000000000")
    cases = {
        "signature": authorization(forged),
        "another workflow id": authorization(signer, workflow_id="inc-other"),
        "another step": authorization(signer, step=2),
        "another actuator": authorization(signer, actuator="demo.restart"),
        "another params sha256": authorization(
            signer, params_sha256=params_sha256({"service": "demo", "replicas": 50})
        ),
    }
    for expected, auth in cases.items():
        message = await refused(
            activity_env,
            settings,
            ActuatorCall(step=1, actuator="demo.scale", params=PARAMS, authorization=auth),
        )
        assert expected in message, (expected, message)
    tampered = replace(authorization(signer), approved_by=["mallory"])
    assert "signature" in await refused(
        activity_env,
        settings,
        ActuatorCall(step=1, actuator="demo.scale", params=PARAMS, authorization=tampered),
    )
    assert demo.get("/admin/actions").json() == []


async def test_valid_decision_applies_once_per_idempotency_key(
    activity_env: ActivityEnvironment, settings: Settings, demo: httpx.Client
) -> None:
    call = ActuatorCall(
        step=1,
        actuator="demo.scale",
        params=PARAMS,
        authorization=authorization(DecisionSigner(SIGNING_KEY.encode())),
    )
    first = await apply(activity_env, settings, call)
    second = await apply(activity_env, settings, call)  # a retry of the same step
    assert first == second
    assert len(demo.get("/admin/actions").json()) == 1
    assert demo.get("/admin/state").json()["replicas"] == 5


async def test_undo_of_an_irreversible_actuator_is_refused(
    activity_env: ActivityEnvironment, settings: Settings, demo: httpx.Client
) -> None:
    params = {"service": "demo"}
    auth = DecisionSigner(SIGNING_KEY.encode()).sign(
        Authorization(
            workflow_id=WORKFLOW_ID,
            step=1,
            actuator="demo.restart",
            params_sha256=params_sha256(params),
            bundle_sha256="b" * 64,
            approved_by=["o"],
        )
    )
    async with httpx.AsyncClient(timeout=5) as http:
        acts = ActuatorActivities(http, settings, DecisionSigner(SIGNING_KEY.encode()))
        with pytest.raises(ApplicationError) as err:
            await activity_env.run(
                acts.undo,
                UndoCall(
                    step=1, actuator="demo.restart", params=params, before={}, authorization=auth
                ),
            )
    assert err.value.type == "IrreversibleError"
