"""Detectors by name, for the CLI and for monitors configured as data."""

from __future__ import annotations

from collections.abc import Callable

from activities.detectors.base import Detector
from activities.detectors.ensemble import EnsembleDetector
from activities.detectors.forecast import ProphetDetector
from activities.detectors.iforest import IsolationForestDetector
from activities.detectors.zscore import EwmaZScoreDetector, RollingZScoreDetector

DETECTOR_FACTORIES: dict[str, Callable[[], Detector]] = {
    "ensemble": EnsembleDetector,
    "zscore": RollingZScoreDetector,
    "ewma": EwmaZScoreDetector,
    "iforest": IsolationForestDetector,
    "prophet": ProphetDetector,
}


def build_detector(name: str) -> Detector:
    """Return a fresh detector with default settings.

    Raises:
        ValueError: If ``name`` is not a known detector.
    """
    try:
        factory = DETECTOR_FACTORIES[name]
    except KeyError:
        known = ", ".join(DETECTOR_FACTORIES)
        raise ValueError(f"unknown detector {name!r}; choose one of {known}") from None
    return factory()
