"""Which name a workflow schedules an activity under: the current one, or the legacy one.

Temporal's replayer checks the activity type of every scheduled activity (and of every local
activity marker) against the history. A run recorded before ``activity-names-v2`` scheduled the
legacy names of ``activities.names.LEGACY_NAMES`` and must keep doing so on replay, including
the part of an in-flight run that continues on an upgraded worker after a replay. Runs that
start (or first reach an activity) on new code record the patch marker and use the new names.
The worker registers every activity under both names, so either kind of task finds its code.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.names import LEGACY_NAMES

ACTIVITY_NAMES_PATCH = "activity-names-v2"


def activity_name(name: str) -> str:
    """Return the name to schedule the activity ``name`` (an ``activities.names`` constant) as.

    Call only from workflow code. The patch check is memoized per run, so every call in a run
    agrees with its first one.

    Raises:
        KeyError: ``name`` is not an activity name from ``activities.names``.
    """
    legacy = LEGACY_NAMES[name]
    return name if workflow.patched(ACTIVITY_NAMES_PATCH) else legacy
