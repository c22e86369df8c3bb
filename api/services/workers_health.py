"""How many worker processes poll the task queue, as Temporal sees them (for ``/healthz``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

# A live idle worker re-polls at least once per long poll (about 60 s on the server), so a
# poller last seen longer ago than this is gone. Temporal itself keeps pollers listed for minutes.
POLLER_FRESH_SECONDS = 75.0
RPC_TIMEOUT = timedelta(seconds=1)


async def workers_polling(
    client: Client, namespace: str, task_queue: str, *, now: datetime | None = None
) -> int:
    """Return how many distinct workers polled ``task_queue`` for workflow tasks recently.

    Raises:
        temporalio.service.RPCError: Temporal did not answer.
    """
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        ),
        timeout=RPC_TIMEOUT,
    )
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=POLLER_FRESH_SECONDS)
    return len(
        {
            poller.identity
            for poller in response.pollers
            if poller.last_access_time.ToDatetime(tzinfo=UTC) >= cutoff
        }
    )
