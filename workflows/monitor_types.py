"""Public types of scheduled monitors (imported by the API, the activities and the workflows)."""

from dataclasses import dataclass, field
from typing import Any

# The workflow type a monitor's Schedule starts, by the monitor's kind.
MONITOR_WORKFLOWS: dict[str, str] = {
    "detect": "detection",
    "forecast": "forecast",
    "deliveries": "delivery_watch",
}


@dataclass(kw_only=True)
class MonitorRun:
    """Everything one scheduled run of a monitor needs; the Schedule's action carries it.

    Attributes:
        name: The monitor's name (its Schedule id is ``monitor-{name}``).
        kind: ``detect``, ``forecast`` or ``deliveries`` (see ``MONITOR_WORKFLOWS``).
        service: Service the incidents open for.
        signal: Signal of the incidents it opens (part of their fingerprint).
        severity: Severity of the incidents it opens.
        playbook: Playbook the incidents run.
        source: Where the window comes from, e.g. ``{"kind": "prometheus", "query": ...}``.
        detector: Detector or forecast settings.
        interval_seconds: How often the Schedule fires.
        window_seconds: How much history each run fetches.
    """

    name: str
    kind: str
    service: str
    signal: str
    severity: str
    playbook: str
    source: dict[str, Any] = field(default_factory=dict)
    detector: dict[str, Any] = field(default_factory=dict)
    interval_seconds: int = 60
    window_seconds: int = 3600
