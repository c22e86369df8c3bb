"""The name of every Steward activity: one constant each, used on both sides of Temporal.

The scheme is ``steward.<area>.<verb>``, where ``<area>`` is the ``activities`` sub-package that
implements the activity (``actuators``, ``records``, ``policy``, ``incidents``, ``deliveries``,
``detection``, ``prediction``, ``ledger``). ``@activity.defn(name=...)`` and every workflow call
use these constants, so a call site leads to its implementation by one name.

Histories recorded before this scheme name the activities by :data:`LEGACY_NAMES`; workflows
keep scheduling those until the ``activity-names-v2`` patch (see
``workflows.activity_names``), and the worker registers every activity under both names.

Standard library only: this is a contract module that every layer may import.
"""

from typing import Final

ACTUATOR_SNAPSHOT: Final = "steward.actuators.snapshot"
ACTUATOR_APPLY: Final = "steward.actuators.apply"
ACTUATOR_UNDO: Final = "steward.actuators.undo"
ACTUATOR_VERIFY: Final = "steward.actuators.verify"

RECORD_INCIDENT: Final = "steward.records.write_incident"
RECORD_STEP: Final = "steward.records.write_step"
RECORD_APPROVAL: Final = "steward.records.write_approval"

POLICY_GATE: Final = "steward.policy.gate"
POLICY_AUTHORIZE: Final = "steward.policy.authorize"

INCIDENT_OPEN_OR_ATTACH: Final = "steward.incidents.open_or_attach"
INCIDENT_AWAIT_OUTCOME: Final = "steward.incidents.await_outcome"
INCIDENT_ALERT: Final = "steward.incidents.alert"
INCIDENT_SWEEP: Final = "steward.incidents.sweep"

DELIVERY_TRIAGE: Final = "steward.deliveries.triage"
DELIVERY_ADVISE: Final = "steward.deliveries.advise"
DELIVERY_DETECT: Final = "steward.deliveries.detect"

DETECTION_SCORE_WINDOW: Final = "steward.detection.score_window"

PREDICTION_PREDICT_BREACH: Final = "steward.prediction.predict_breach"

LEDGER_READ_GATES: Final = "steward.ledger.read_gates"
LEDGER_EVALUATE_POLICY: Final = "steward.ledger.evaluate_policy"
LEDGER_RECORD_SIMULATION: Final = "steward.ledger.record_simulation"

LEGACY_NAMES: Final[dict[str, str]] = {
    ACTUATOR_SNAPSHOT: "steward.snapshot",
    ACTUATOR_APPLY: "steward.apply",
    ACTUATOR_UNDO: "steward.undo",
    ACTUATOR_VERIFY: "steward.verify",
    RECORD_INCIDENT: "steward.record_incident",
    RECORD_STEP: "steward.record_step",
    RECORD_APPROVAL: "steward.record_approval",
    POLICY_GATE: "steward.gate",
    POLICY_AUTHORIZE: "steward.authorize",
    INCIDENT_OPEN_OR_ATTACH: "open_or_attach_incident",
    INCIDENT_AWAIT_OUTCOME: "incident_outcome",
    INCIDENT_ALERT: "steward.alert",
    INCIDENT_SWEEP: "steward.sweep_incidents",
    DELIVERY_TRIAGE: "deliveries.triage",
    DELIVERY_ADVISE: "deliveries.advise",
    DELIVERY_DETECT: "deliveries.detect",
    DETECTION_SCORE_WINDOW: "monitor.score_window",
    PREDICTION_PREDICT_BREACH: "monitor.predict_breach",
    LEDGER_READ_GATES: "steward.recorded_gates",
    LEDGER_EVALUATE_POLICY: "steward.evaluate_policy",
    LEDGER_RECORD_SIMULATION: "steward.record_simulation",
}
"""Every activity's name (key) and the name histories recorded before the scheme use (value)."""

ACTIVITY_NAMES: Final = frozenset(LEGACY_NAMES)
"""Every current activity name."""


def aliases_of(name: str) -> frozenset[str]:
    """Return every name that ``name``'s activity was ever scheduled under (it and its legacy).

    Readers of histories (audit, benchmarks) match on this instead of on one spelling.
    """
    return frozenset({name, LEGACY_NAMES[name]})
