"""Fixtures of the CLI tests: ``steward`` run in-process against the test's real API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Steward


@pytest.fixture
def steward(api_url: str, tmp_path: Path) -> Steward:
    """The ``steward`` CLI on this test's API, with a config home of its own."""
    return Steward(api_url, tmp_path / "xdg")
