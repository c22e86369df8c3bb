"""Field paths in 422 answers, as a sender writes them."""

from __future__ import annotations

import pytest

from api.http.errors import field_path


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("body", "events", 3, "timestamp"), "events[3].timestamp"),
        (("body", "alerts", 0, "labels", "service"), "alerts[0].labels.service"),
        (("query", "tenant"), "tenant"),
        (("body",), "body"),
        (("body", "ids", 1), "ids[1]"),
    ],
)
def test_field_paths(loc: tuple[str | int, ...], path: str) -> None:
    assert field_path(loc) == path
