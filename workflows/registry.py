"""Every workflow a Steward worker runs, by workflow type: the worker and the replayer share it.

Steward's own workflows are listed here; the playbooks come from ``workflows.plugins`` (entry
points and plugin modules), so a plugin playbook's histories replay like a shipped one's.
"""

from collections.abc import Sequence

from temporalio import workflow

from workflows.delivery_watch import DeliveryWatch
from workflows.detection import Detection
from workflows.forecast import Forecast
from workflows.incident_sweep import IncidentSweep
from workflows.plugins import PLAYBOOKS, load_playbooks
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


SYSTEM_WORKFLOWS: dict[str, type] = _by_type(
    UndoIncident,
    PolicySimulation,
    Detection,
    Forecast,
    DeliveryWatch,
    TriageDeliveries,
    ReplayAdvisor,
    IncidentSweep,
)


def load_workflows(modules: Sequence[str] = ()) -> dict[str, type]:
    """Find the playbooks anew (see ``workflows.plugins.load_playbooks``); return every workflow.

    Raises:
        PluginError: A playbook plugin cannot be loaded.
    """
    load_playbooks(modules, reserved=SYSTEM_WORKFLOWS)
    return registered_workflows()


def registered_workflows() -> dict[str, type]:
    """Every workflow by type: the playbooks last loaded and Steward's own workflows."""
    return {**PLAYBOOKS, **SYSTEM_WORKFLOWS}
