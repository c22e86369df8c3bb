"""Steward's data converter decodes exactly as the SDK's default one, on the same wire format."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio.converter import DataConverter

from activities.types import ActuatorCall, Authorization, StepRecord
from api.core.converter import DATA_CONVERTER, CachedDataclassHints
from workflows.types import IncidentInput


@dataclass
class Inner:
    name: str
    tags: list[str] = field(default_factory=list)


@dataclass
class Outer:
    inner: Inner
    maybe: Inner | None = None
    by_name: dict[str, Inner] = field(default_factory=dict)
    derived: int = field(init=False, default=0)


def sample_call() -> ActuatorCall:
    authorization = Authorization(
        workflow_id="wf",
        step=2,
        actuator="demo.scale",
        params_sha256="p" * 64,
        bundle_sha256="b" * 64,
        approved_by=["alice"],
        signature="sig",
    )
    record = StepRecord(
        incident_id="wf",
        step=2,
        kind="act",
        name="demo.scale",
        status="gated",
        params={"replicas": 8},
        tier="warn",
    )
    record.gate_input = {"stats": {"applied": []}}
    return ActuatorCall(
        step=2,
        actuator="demo.scale",
        params={"replicas": 8},
        authorization=authorization,
        record=record,
    )


async def roundtrip(value: Any, hint: type, writer: DataConverter, reader: DataConverter) -> Any:
    [decoded] = await reader.decode(await writer.encode([value]), [hint])
    return decoded


@pytest.mark.parametrize(
    ("writer", "reader"),
    [(DATA_CONVERTER, DataConverter.default), (DataConverter.default, DATA_CONVERTER)],
)
async def test_payloads_read_the_same_with_either_converter(
    writer: DataConverter, reader: DataConverter
) -> None:
    call = sample_call()
    assert await roundtrip(call, ActuatorCall, writer, reader) == call
    incident = IncidentInput(
        service="demo",
        signal="latency",
        severity="high",
        opened_by="high_latency",
        window_start="2026-11-24T00:00:00Z",
    )
    assert await roundtrip(incident, IncidentInput, writer, reader) == incident


async def test_nested_optional_mapped_and_non_init_fields_decode() -> None:
    value = Outer(Inner("a", ["x"]), Inner("b"), {"c": Inner("c")})
    value.derived = 7
    decoded = await roundtrip(value, Outer, DATA_CONVERTER, DATA_CONVERTER)
    assert decoded == value and decoded.derived == 7
    assert isinstance(decoded.by_name["c"], Inner)


async def test_bad_payloads_fail_as_they_do_with_the_sdk() -> None:
    payloads = await DATA_CONVERTER.encode([{"inner": {"tags": ["no name"]}}])
    for converter in (DATA_CONVERTER, DataConverter.default):
        with pytest.raises(TypeError):  # the required field ``name`` is missing
            await converter.decode(payloads, [Outer])
    wrong = await DATA_CONVERTER.encode([{"inner": {"name": 3}}])
    with pytest.raises(TypeError, match="Failed converting field inner"):
        await DATA_CONVERTER.decode(wrong, [Outer])


def test_a_class_that_goes_away_leaves_the_cache() -> None:
    hints = CachedDataclassHints()

    @dataclass
    class Passing:  # like a class of a sandboxed workflow module, dropped after the run
        n: int

    assert hints.to_typed_value(Passing, {"n": 1}) == Passing(1)
    assert len(hints._shapes) == 1
    del Passing
    gc.collect()
    assert len(hints._shapes) == 0
