"""Starting a run exactly once, even when the answer to the start request is lost.

Each start request carries a tag with a fresh request id. After an ambiguous failure (a 5xx,
a read timeout, a dropped connection, a connection error a foreign transport cannot vouch
for, an unreadable answer) the run is looked up by flow, recent start time, label and that
tag; only when it is provably absent is the request sent again. The look-up is a hook
(:data:`~globus_runs._http.attempts.Recheck`) the one attempt loop calls before any resend:
every resend and every repeated look-up is a retry of that loop, within the policy's
``max_retries`` and ``max_elapsed`` and never past the caller's deadline. If the look-up keeps
failing, the original error is raised: re-sending then could start a second run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .._errors import GlobusRunsError, ResponseParseError
from .._http.attempts import Found, Response
from .._models import Run
from .._wire import ApiRequest

if TYPE_CHECKING:
    from ._client import FlowsClient

__all__ = [
    "LOOKBACK",
    "REQUEST_TAG_PREFIX",
    "find_started",
    "find_tagged",
    "request_tag",
    "start_exactly_once",
]

logger = logging.getLogger("globus_runs")

REQUEST_TAG_PREFIX = "globus-runs-request:"
# How far back a look-up searches: covers clock skew between this host and the service.
LOOKBACK = timedelta(hours=1)
_LOOKUP_LIMIT = 500


def request_tag() -> str:
    """A fresh tag identifying one logical start request."""
    return f"{REQUEST_TAG_PREFIX}{uuid.uuid4()}"


async def find_tagged(
    client: FlowsClient,
    flow_id: str,
    tags: Collection[str],
    since: datetime,
    *,
    label: str | None = None,
    max_items: int | None = None,
) -> dict[str, Run]:
    """The runs of ``flow_id`` started since ``since`` that carry one of ``tags``, by tag.

    One walk over the listing (``GET /runs`` filtered by flow, start time and ``label``,
    newest first, 50 runs a page), ending once every tag is found, after ``max_items`` runs
    (``None``: no bound) or at the last page. A tag absent from the result is carried by no
    run the listing shows.
    """
    wanted = set(tags)
    found: dict[str, Run] = {}
    if not wanted:
        return found
    listing = client.iter_runs(
        filter_flow_id=flow_id,
        filter_start_time=(since, None),
        filter_label=label or None,
        orderby="start_time DESC",
        per_page=50,
        max_items=max_items,
    )
    async for run in listing:
        for tag in wanted.intersection(run.tags):
            found.setdefault(tag, run)
        if len(found) == len(wanted):
            break
    return found


async def find_started(
    client: FlowsClient, flow_id: str, label: str | None, tag: str, since: datetime
) -> Run | None:
    """The run of ``flow_id`` carrying ``tag`` started since ``since``, if there is one."""
    found = await find_tagged(client, flow_id, (tag,), since, label=label, max_items=_LOOKUP_LIMIT)
    return found.get(tag)


async def start_exactly_once(
    client: FlowsClient,
    send: ApiRequest,
    *,
    flow_id: str,
    label: str | None,
    tag: str,
) -> Run:
    """Send the start request ``send`` (tagged with ``tag``) until one run exists."""
    since = datetime.now(UTC) - LOOKBACK

    async def recheck(error: GlobusRunsError) -> bool | Found[Run] | None:
        try:
            found = await find_started(client, flow_id, label, tag, since)
        except GlobusRunsError as failure:
            logger.debug("start of a %s run: look-up failed (%s)", flow_id, type(failure).__name__)
            return None
        if found is not None:
            logger.debug("start of a %s run: found it after %s", flow_id, type(error).__name__)
            return Found(found)
        # An unreadable 2xx means the run was created: never send the request again.
        return not isinstance(error, ResponseParseError)

    def read(response: Response) -> Run:
        return client._read(response, Run)

    return await client._transport.send(send, read=read, recheck=recheck)
