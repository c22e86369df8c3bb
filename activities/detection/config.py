"""Detectors from a monitor's ``detector`` settings: ``{"name": "zscore", "threshold": 5, ...}``.

``name`` picks a detector of ``activities.detectors.registry``; every other key is a field of
that detector's settings dataclass, validated by pydantic against the field's type, so a typo
or a wrong type is refused when the monitor is saved, not at 3 a.m. in a worker.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from activities.detectors.base import Detector
from activities.detectors.registry import DETECTOR_FACTORIES, build_detector

DEFAULT_DETECTOR = "zscore"


class DetectorConfigError(ValueError):
    """A monitor's ``detector`` settings are unusable; ``field`` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"detector.{field}: {message}")
        self.field = field
        self.message = message


def configured_detector(config: Mapping[str, Any]) -> Detector:
    """Return a fresh detector built from ``config`` (``name`` plus settings fields).

    Raises:
        DetectorConfigError: Unknown detector (listing the known ones), unknown setting
            (listing the detector's settings) or a value of the wrong type or range.
    """
    if not isinstance(config, Mapping):
        raise DetectorConfigError("name", "the detector must be an object with a name")
    settings = dict(config)
    name = settings.pop("name", DEFAULT_DETECTOR)
    if name not in DETECTOR_FACTORIES:
        known = ", ".join(sorted(DETECTOR_FACTORIES))
        raise DetectorConfigError("name", f"unknown detector {name!r}; known detectors: {known}")
    detector = build_detector(str(name))
    if not settings:
        return detector
    current = getattr(detector, "settings", None)
    if current is None or not dataclasses.is_dataclass(current):
        raise DetectorConfigError(next(iter(settings)), f"detector {name!r} takes no settings")
    known_fields = {f.name for f in dataclasses.fields(current) if f.init}
    unknown = sorted(set(settings) - known_fields)
    if unknown:
        raise DetectorConfigError(
            unknown[0],
            f"unknown setting of detector {name!r}; known: {', '.join(sorted(known_fields))}",
        )
    merged = {**{key: getattr(current, key) for key in known_fields}, **settings}
    try:
        validated = TypeAdapter(type(current)).validate_python(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or next(iter(settings))
        raise DetectorConfigError(where, first["msg"]) from None
    try:
        # Every shipped detector (and the ensemble) takes its settings as ``settings=``.
        built: Detector = type(detector)(settings=validated)  # type: ignore[call-arg]
    except (TypeError, ValueError) as exc:
        raise DetectorConfigError(next(iter(settings)), str(exc)) from None
    return built


def validate_detector(config: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``config`` and return it with the detector's name filled in.

    Raises:
        DetectorConfigError: As ``configured_detector``.
    """
    configured_detector(config)
    return {"name": DEFAULT_DETECTOR, **dict(config)}
