"""The Temporal client, shared by the API, the CLI and the worker."""

from __future__ import annotations

from temporalio.client import Client

from api.core.settings import Settings
from workflows.converter import DATA_CONVERTER


async def connect(settings: Settings) -> Client:
    """Connect to the Temporal frontend named in ``settings``, with Steward's data converter."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )
