"""Source settings are checked when a monitor is saved, naming the field at fault."""

from __future__ import annotations

from typing import Any

import pytest

from activities.sources import SourceConfigError, validate_source
from activities.sources.prometheus import align_end


@pytest.mark.parametrize(
    ("source", "window", "field", "words"),
    [
        ({"kind": "prometheus"}, 60, "query", "required"),
        ({"kind": "prometheus", "query": "  "}, 60, "query", "required"),
        ({"kind": "prometheus", "query": "up", "step_seconds": 0}, 60, "step_seconds", "1 to"),
        ({"kind": "prometheus", "query": "up", "step_seconds": 120}, 60, "step_seconds", "longer"),
        ({"kind": "prometheus", "query": "up", "step_seconds": 1}, 86400, "step_seconds", "11000"),
        ({"kind": "prometheus", "query": "up", "match": {"a": 1}}, 60, "match", "label"),
        ({"kind": "prometheus", "query": "up", "qurey": "x"}, 60, "qurey", "unknown setting"),
        ({"kind": "graphite", "query": "up"}, 60, "kind", "events, prometheus"),
        ({"query": "up"}, 60, "kind", "required"),
    ],
)
def test_settings_are_checked_naming_the_field(
    source: dict[str, Any], window: int, field: str, words: str
) -> None:
    with pytest.raises(SourceConfigError) as raised:
        validate_source(source, window)
    assert raised.value.field == field
    assert words in str(raised.value)


def test_defaults_are_filled_in_and_the_end_is_aligned_to_the_step() -> None:
    assert validate_source({"kind": "prometheus", "query": "up"}, 3600) == {
        "kind": "prometheus",
        "query": "up",
        "step_seconds": 15,
        "match": {},
        "max_series": 20,
    }
    assert align_end({"step_seconds": 15}, 1000.0) == 1005.0
    assert align_end({"step_seconds": 15}, 1005.0) == 1005.0
    assert align_end({"step_seconds": 1}, 1000.2) == 1001.0
