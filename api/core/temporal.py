"""The Temporal client, shared by the API, the CLI and the worker, and what "unreachable" means."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, RPCTimeoutOrCancelledError
from temporalio.runtime import Runtime
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from api.core.converter import DATA_CONVERTER
from api.core.settings import Settings

# Statuses that say "Temporal did not answer", as opposed to an answer (NOT_FOUND, "workflow
# execution already completed", a rejected Update). Only an answer may be recorded as a refusal.
TRANSPORT_FAILURES = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
    }
)


class TemporalUnavailableError(RuntimeError):
    """Temporal could not be reached or did not answer in time; nothing was decided.

    The API answers 503 with ``Retry-After`` (see ``api.http.unavailable``).

    Attributes:
        address: The Temporal frontend that was asked.
        reason: One plain line for the caller.
    """

    def __init__(self, address: str, detail: str | None = None) -> None:
        self.address = address
        self.reason = f"Temporal is unreachable at {address}; retry later"
        self.detail = detail
        super().__init__(self.reason if detail is None else f"{self.reason} ({detail})")


class NoWorkerAnsweredError(TemporalUnavailableError):
    """Temporal took the call, but no worker answered it in time (none polls, or all are busy).

    Nothing was decided: an Update that no worker accepted leaves no trace in the history.
    """

    def __init__(self, address: str, seconds: float) -> None:
        super().__init__(address)
        self.reason = (
            f"no Steward worker answered within {seconds:g} s (are the workers running?); "
            "nothing was recorded, retry later"
        )
        self.args = (self.reason,)


def is_transport_failure(exc: BaseException) -> bool:
    """Return whether ``exc`` says Temporal was not reached, rather than that it answered."""
    if isinstance(exc, RPCTimeoutOrCancelledError):
        return True  # the SDK's wrapping of DEADLINE_EXCEEDED and CANCELLED for Updates
    if not isinstance(exc, RPCError):
        return False
    # A connection cut while a call was in flight (a server killed mid-Update, as the chaos
    # suite does) reaches us as UNKNOWN "transport error", not as UNAVAILABLE.
    cut_off = exc.status == RPCStatusCode.UNKNOWN and exc.message == "transport error"
    return cut_off or exc.status in TRANSPORT_FAILURES


async def answers(client: Client, timeout: float = 1.0) -> bool:
    """Return whether the Temporal frontend behind ``client`` answers a trivial call in time."""
    try:
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), retry=False, timeout=timedelta(seconds=timeout)
        )
    except (RPCError, RPCTimeoutOrCancelledError):
        return False
    return True


def client_address(client: Client) -> str:
    """Return the frontend address ``client`` talks to."""
    return client.service_client.config.target_host


def unreachable(client: Client, exc: BaseException) -> TemporalUnavailableError:
    """Return the error that stands for ``exc``, a transport failure talking to ``client``."""
    return TemporalUnavailableError(client_address(client), str(exc))


async def connect(
    settings: Settings, runtime: Runtime | None = None, *, answer_quickly: bool = False
) -> Client:
    """Connect to the Temporal frontend named in ``settings``, with Steward's data converter.

    Args:
        settings: Address and namespace.
        runtime: A runtime of the client's own (the CLI drops it before exiting); the
            process-wide default when None.
        answer_quickly: For a client that serves requests (the API): the connection attempt
            and the retries of one call are bounded by ``temporal_connect_timeout_seconds``
            and ``temporal_retry_seconds``, so an unreachable Temporal is reported in about
            that time instead of after the SDK's default ~10 s of retries. Workers keep the
            SDK's patient defaults.

    Raises:
        TemporalUnavailableError: Temporal could not be reached (only with ``answer_quickly``).
    """
    if not answer_quickly:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=DATA_CONVERTER,
            runtime=runtime,
        )
    retry_millis = round(settings.temporal_retry_seconds * 1000)
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=DATA_CONVERTER,
            runtime=runtime,
            connect_timeout=timedelta(seconds=settings.temporal_connect_timeout_seconds),
            retry_config=RetryConfig(
                max_elapsed_time_millis=retry_millis,
                max_interval_millis=max(100, retry_millis // 2),
            ),
        )
    except Exception as exc:  # every connect failure means the same thing to the caller
        raise TemporalUnavailableError(settings.temporal_address, str(exc)) from exc
