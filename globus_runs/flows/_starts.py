"""Starting a run exactly once, even when the answer to the start request is lost.

Each start request carries a tag with a fresh request id. After an ambiguous failure (a 5xx,
a read timeout, a dropped connection, an unreadable answer) the run is looked up by flow,
recent start time, label and that tag; only when it is provably absent is the request sent
again. If the look-up itself fails, the original error is raised: re-sending then could
start a second run.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import anyio

from .._errors import ConnectError, NetworkError, ResponseParseError, ServerError
from .._models import Run
from .._wire import ApiRequest

if TYPE_CHECKING:
    from ._client import FlowsClient

__all__ = ["REQUEST_TAG_PREFIX", "find_started", "request_tag", "start_exactly_once"]

logger = logging.getLogger("globus_runs")

REQUEST_TAG_PREFIX = "globus-runs-request:"
# How far back a look-up searches: covers clock skew between this host and the service.
_LOOKBACK = timedelta(hours=1)
_LOOKUP_LIMIT = 500


def request_tag() -> str:
    """A fresh tag identifying one logical start request."""
    return f"{REQUEST_TAG_PREFIX}{uuid.uuid4()}"


async def find_started(
    client: FlowsClient, flow_id: str, label: str | None, tag: str, since: datetime
) -> Run | None:
    """The run of ``flow_id`` carrying ``tag`` started since ``since``, if there is one."""
    listing = client.iter_runs(
        filter_flow_id=flow_id,
        filter_start_time=(since, None),
        filter_label=label or None,
        orderby="start_time DESC",
        per_page=50,
        max_items=_LOOKUP_LIMIT,
    )
    async for run in listing:
        if tag in run.tags:
            return run
    return None


async def _look_up(
    client: FlowsClient, flow_id: str, label: str | None, tag: str, since: datetime
) -> Run | None:
    """`find_started`, tried again after a transient failure (an unreadable page, say).

    The look-up only reads, so repeating it is safe; giving up early would leave a run the
    caller is told failed.
    """
    policy = client.retry
    attempt = 0
    while True:
        try:
            return await find_started(client, flow_id, label, tag, since)
        except (ServerError, NetworkError, ResponseParseError):
            attempt += 1
            if attempt > policy.max_retries:
                raise
            await anyio.sleep(policy.backoff(attempt))


async def start_exactly_once(
    client: FlowsClient,
    send: ApiRequest,
    *,
    flow_id: str,
    label: str | None,
    tag: str,
) -> Run:
    """Send the start request ``send`` (tagged with ``tag``) until one run exists."""
    policy = client.retry
    since = datetime.now(UTC) - _LOOKBACK
    attempt = 0
    while True:
        try:
            return await client._call(send, Run)
        except (ServerError, NetworkError, ResponseParseError) as exc:
            if isinstance(exc, ConnectError):
                raise  # never reached the service, and the transport already retried it
            attempt += 1
            try:
                found = await _look_up(client, flow_id, label, tag, since)
            except Exception:
                logger.debug("start of a %s run: look-up failed after %s", flow_id, exc)
                raise exc from None
            if found is not None:
                logger.debug("start of a %s run: found it after %s", flow_id, type(exc).__name__)
                return found
            # An unreadable 2xx means the run was created: never send the request again.
            if isinstance(exc, ResponseParseError) or attempt > policy.max_retries:
                raise
            logger.debug("start of a %s run: not started, sending again (%d)", flow_id, attempt)
            await anyio.sleep(policy.backoff(attempt))
