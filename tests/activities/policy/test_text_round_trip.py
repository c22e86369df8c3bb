"""Any text in the policy's input comes back intact in its decision (issue 13, item 7).

A control character, a quote or a backslash in a kill-switch or freeze reason used to make
regopy's output unreadable, so every decision in its scope became "malformed decision".
Real regopy engine on the shipped policy, real SQLite facts.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from regopy.rego_shared import rego_free_output, rego_output_string, rego_query
from sqlalchemy import Engine
from sqlmodel import Session

from activities.policy import runtime
from activities.policy.bundle import new_interpreter
from activities.policy.engine import EmbeddedPolicyEngine
from activities.policy.facts import make_facts_gatherer
from activities.policy.gate import GateActivities
from activities.policy.rego_input import set_json_input
from activities.policy.signing import DecisionSigner
from activities.types import GateRequest, IncidentRef
from api.core.settings import Settings
from api.models import utcnow
from tests.activities.policy import POLICIES

# Every C0 control character and DEL, then what JSON escapes and what UTF-8 cannot carry.
AWKWARD = [chr(code) for code in [*range(0x20), 0x7F]] + ['"', "\\", "\ud800", "\udfff"]
AWKWARD_IDS = [f"U+{ord(char):04X}" for char in AWKWARD]
# What the database can store (UTF-8 cannot carry a lone surrogate; the API refuses them).
STORABLE = [char for char in AWKWARD if not 0xD800 <= ord(char) <= 0xDFFF]


def text_with(char: str) -> str:
    return f"before{char}after é 😀 \\/ end"


@pytest.fixture(scope="module")
def echo() -> object:
    interpreter = new_interpreter()
    interpreter.add_module(
        "echo",
        'package echo\nsame := input.text\nwrapped := sprintf("r: %s", [input.text])\n'
        "keyed := input[input.text]\n",
    )
    return interpreter


@pytest.mark.parametrize("char", AWKWARD, ids=AWKWARD_IDS)
def test_every_string_round_trips_through_regopy(echo: object, char: str) -> None:
    text = text_with(char)
    # As the engine does it: the canonical JSON text, parsed back.
    set_json_input(echo, json.loads(json.dumps({"text": text, text: "by key"})))  # type: ignore[arg-type]
    output = rego_query(
        echo._impl,  # type: ignore[attr-defined]
        "s := data.echo.same; w := data.echo.wrapped; k := data.echo.keyed",
    )
    try:
        raw = rego_output_string(output)
    finally:
        rego_free_output(output)
    bindings = json.loads(raw)["bindings"]
    assert bindings == {"s": text, "w": f"r: {text}", "k": "by key"}


@pytest.fixture
def gate(sqlite_engine: Engine) -> GateActivities:
    engine = EmbeddedPolicyEngine(POLICIES)
    return GateActivities(
        engine,
        DecisionSigner(b"0123456789abcdef0123"),
        Settings(),
        make_facts_gatherer(sqlite_engine),
    )


def scale_request() -> GateRequest:
    incident = IncidentRef(
        id="inc-1", service="demo", signal="errors", severity="high", opened_by="olga"
    )
    return GateRequest(
        workflow_id="inc-1",
        step=1,
        actuator="demo.scale",
        params={"replicas": 3},
        incident=incident,
        requester="test",
        mode="apply",
        time=utcnow().isoformat(),
    )


@pytest.mark.asyncio(loop_scope="session")
async def test_a_kill_switch_reason_with_any_character_still_denies_by_the_switch(
    sqlite_engine: Engine, gate: GateActivities
) -> None:
    for char in STORABLE:
        reason = text_with(char)
        with Session(sqlite_engine) as session:
            runtime.set_kill_switch(session, True, "ada", reason)
        decision = (await gate.gate(scale_request())).decision
        assert decision.rules == ["kill_switch"], (char, decision.reasons)
        assert decision.reasons == [f"kill switch: {reason} (set by ada)"]


@pytest.mark.asyncio(loop_scope="session")
async def test_a_freeze_reason_with_any_character_still_denies_by_the_freeze(
    sqlite_engine: Engine, gate: GateActivities
) -> None:
    now = utcnow()
    for char in STORABLE:
        reason = text_with(char)
        with Session(sqlite_engine) as session:
            window = (now - timedelta(minutes=1), now + timedelta(hours=1))
            freeze = runtime.add_freeze(session, runtime.FreezeSpec(*window, reason, [], []), "bo")
            freeze_id = freeze.id
            assert freeze_id is not None
        decision = (await gate.gate(scale_request())).decision
        assert decision.rules == ["freeze"], (char, decision.reasons)
        assert decision.reasons[0].endswith(f": {reason}")
        with Session(sqlite_engine) as session:
            runtime.remove_freeze(session, freeze_id, "bo", "next character")
