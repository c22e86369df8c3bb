"""Fixtures of the HTTP plumbing tests: limits generous enough to send many bad requests."""

from __future__ import annotations

import pytest

from api.core.settings import Settings, get_settings


@pytest.fixture
def generous_limits(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many refusals in a row: the rate limit (a declared 429) is not what is tested here."""
    monkeypatch.setenv("STEWARD_RATE_LIMIT_PER_MINUTE", "1000000")
    monkeypatch.setenv("STEWARD_RATE_LIMIT_BURST", "1000000")
    get_settings.cache_clear()
