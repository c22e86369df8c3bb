"""Every workflow a Steward worker runs, by workflow type: the worker and the replayer share it."""

from temporalio import workflow

from workflows.delivery_watch import DeliveryWatch
from workflows.detection import Detection
from workflows.forecast import Forecast
from workflows.incident_sweep import IncidentSweep
from workflows.playbooks import PLAYBOOKS
from workflows.replay_advice import ReplayAdvisor
from workflows.simulation import PolicySimulation
from workflows.triage_deliveries import TriageDeliveries
from workflows.undo import UndoIncident


def _by_type(*classes: type) -> dict[str, type]:
    found = {}
    for cls in classes:
        name = workflow._Definition.must_from_class(cls).name
        if name is None:
            raise ValueError(f"{cls.__name__} is a dynamic workflow: give it a name")
        found[name] = cls
    return found


WORKFLOWS: dict[str, type] = {
    **PLAYBOOKS,
    **_by_type(
        UndoIncident,
        PolicySimulation,
        Detection,
        Forecast,
        DeliveryWatch,
        TriageDeliveries,
        ReplayAdvisor,
        IncidentSweep,
    ),
}
