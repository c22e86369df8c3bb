"""The Temporal client, shared by the API, the CLI and the worker."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import Runtime

from api.core.settings import Settings
from workflows.converter import DATA_CONVERTER


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """Connect to the Temporal frontend named in ``settings``, with Steward's data converter.

    Args:
        settings: Address and namespace.
        runtime: A runtime of the client's own (the CLI drops it before exiting); the
            process-wide default when None.
    """
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        runtime=runtime,
    )
