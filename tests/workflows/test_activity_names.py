"""Runs started on this code schedule the ``steward.<area>.<verb>`` names; legacy names run too.

(Histories recorded with the legacy names replay: tests/audit/test_replay_old_histories.py.)
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities import names
from api.core.converter import DATA_CONVERTER
from api.core.settings import Settings
from tests.workflows.helpers import incident_input, running_worker, start
from tests.workflows.legacy_names import LEGACY_NAMES_WORKFLOW, LegacyActivityNames, LegacyResults
from tests.workflows.playbooks import Compensating
from workers.worker import workflow_runner
from workflows.activity_names import ACTIVITY_NAMES_PATCH

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _marker_data(event: HistoryEvent, key: str) -> dict[str, object]:
    payload = event.marker_recorded_event_attributes.details[key].payloads[0]
    data: dict[str, object] = json.loads(payload.data)
    return data


def scheduled_names(history: WorkflowHistory) -> list[str]:
    """The activity type of every scheduled activity and local activity marker, in order."""
    found = []
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            found.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif event.marker_recorded_event_attributes.marker_name == "core_local_activity":
            found.append(str(_marker_data(event, "data")["activity_type"]))
    return found


def patches(history: WorkflowHistory) -> list[str]:
    """The id of every patch marker in the history."""
    return [
        str(_marker_data(event, "patch-data")["id"])
        for event in history.events
        if event.marker_recorded_event_attributes.marker_name == "core_patch"
    ]


async def test_a_run_started_on_this_code_schedules_the_new_names(
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    settings: Settings,
    engine: Engine,
    demo: httpx.Client,
) -> None:
    handle = await start(temporal_env.client, settings, "test_compensating", incident_input())
    outcome = await handle.result()
    assert outcome.status == "rolled_back", outcome
    history = await handle.fetch_history()
    scheduled = scheduled_names(history)
    assert set(scheduled) <= names.ACTIVITY_NAMES, scheduled
    assert {
        names.POLICY_GATE,
        names.ACTUATOR_APPLY,
        names.ACTUATOR_VERIFY,
        names.ACTUATOR_UNDO,
        names.RECORD_STEP,
        names.RECORD_INCIDENT,
    } <= set(scheduled)
    assert ACTIVITY_NAMES_PATCH in patches(history)
    # The new history replays on the code that wrote it (raises on a mismatch).
    replayer = Replayer(
        workflows=[Compensating], workflow_runner=workflow_runner(), data_converter=DATA_CONVERTER
    )
    await replayer.replay_workflow(history)


async def test_activities_scheduled_by_legacy_name_still_run(
    temporal_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    queue = f"tq-legacy-{uuid.uuid4().hex[:8]}"
    async with running_worker(
        temporal_env.client,
        settings,
        engine,
        task_queue=queue,
        extra_workflows=[LegacyActivityNames],
    ):
        handle = await temporal_env.client.start_workflow(
            LEGACY_NAMES_WORKFLOW,
            id=f"legacy-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
            result_type=LegacyResults,
        )
        result = await handle.result()
    assert result.triage.verdicts == []
    assert isinstance(result.sweep.findings, list)
    legacy = [names.LEGACY_NAMES[names.DELIVERY_TRIAGE], names.LEGACY_NAMES[names.INCIDENT_SWEEP]]
    assert scheduled_names(await handle.fetch_history()) == legacy
