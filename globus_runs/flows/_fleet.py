"""Operating on many runs at once: bulk updates and cancels, and reruns with the same input.

Bulk updates go through ``POST /batch/runs``, which takes a list of run ids and the changes
for all of them, and is answered ``202 {}``. The ids are sent in chunks; the chunks are a
batch like any other (bounded concurrency, paused on 429), with one result per chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from .._auth import FLOWS_RESOURCE_SERVER
from .._batch import run_batch
from .._errors import (
    InvalidRequestError,
    ResponseParseError,
    RunInputUnavailableError,
    RunNotFoundError,
    WaitTimeoutError,
)
from .._models import BatchResult, Run, RunStatus
from .._wire import ApiRequest, id_segment, json_body
from ._starts import REQUEST_TAG_PREFIX

if TYPE_CHECKING:
    from ._client import FlowsClient

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "RERUN_TAG_PREFIX",
    "BulkCancelResult",
    "bulk_cancel_runs",
    "get_run_input",
    "rerun_runs",
    "update_runs",
    "update_runs_request",
]

#: Run ids per ``POST /batch/runs`` request unless ``chunk_size`` says otherwise.
DEFAULT_CHUNK_SIZE = 500
#: The tag a rerun carries, followed by the id of the run it repeats.
RERUN_TAG_PREFIX = "rerun-of:"

_SECTIONS = ("set", "add", "remove")
_FLOWS_PER_QUERY = 20
_FIELDS = ("tags", "run_managers", "run_monitors")


def _run_id(value: object) -> str:
    if isinstance(value, Run):
        value = value.run_id
    id_segment(value, "run_id")
    assert isinstance(value, str)
    return value


def _strings(value: Sequence[str], name: str) -> list[str]:
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise InvalidRequestError(f"{name} must be a sequence of str")
    return list(value)


def update_runs_request(
    run_ids: Sequence[str], changes: Mapping[str, Mapping[str, Sequence[str]]], *, cancel: bool
) -> ApiRequest:
    """``POST /batch/runs`` for ``run_ids``: ``changes`` maps ``set``/``add``/``remove`` to
    ``{field: values}``; ``cancel`` adds ``"set": {"status": "cancel"}``."""
    document: dict[str, Any] = {"filters": {"run_ids": list(run_ids)}}
    for section in _SECTIONS:
        fields: dict[str, Any] = {
            name: _strings(values, f"{section}_{name}")
            for name, values in changes.get(section, {}).items()
        }
        if section == "set" and cancel:
            fields["status"] = "cancel"
        if fields:
            document[section] = fields
    if len(document) == 1:
        raise InvalidRequestError("update_runs needs at least one change (or cancel=True)")
    # Setting, adding, removing and cancelling give the same result when repeated.
    return ApiRequest(
        "POST",
        "/batch/runs",
        FLOWS_RESOURCE_SERVER,
        body=json_body(document),
        not_found=RunNotFoundError,
    )


def _chunks(run_ids: Iterable[str | Run], chunk_size: int) -> list[list[str]]:
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise InvalidRequestError("chunk_size must be a positive int")
    if isinstance(run_ids, str):
        raise InvalidRequestError("run_ids must be a sequence of run ids, not one str")
    ids = list(dict.fromkeys(_run_id(run_id) for run_id in run_ids))
    return [ids[start : start + chunk_size] for start in range(0, len(ids), chunk_size)]


async def update_runs(
    client: FlowsClient,
    run_ids: Iterable[str | Run],
    changes: Mapping[str, Mapping[str, Sequence[str]]],
    *,
    cancel: bool,
    chunk_size: int,
    concurrency: int | None,
) -> list[BatchResult[list[str]]]:
    """Send the changes for ``run_ids`` in chunks; one result per chunk, in order."""
    chunks = _chunks(run_ids, chunk_size)
    if not chunks:
        update_runs_request([], changes, cancel=cancel)  # still refuse an empty change
        return []
    requests = {id(chunk): update_runs_request(chunk, changes, cancel=cancel) for chunk in chunks}

    async def send(chunk: list[str]) -> list[str]:
        response = await client._transport.send(requests[id(chunk)])
        # The documented answer is an empty object; anything but an object is not Flows.
        if not isinstance(response.json(), dict):
            raise ResponseParseError(
                "answer to POST /batch/runs is not a JSON object",
                text=response.content.decode("utf-8", "replace"),
                method=response.method,
                url=response.url,
            )
        return chunk

    return await run_batch(chunks, send, concurrency=client._concurrency(concurrency))


@attrs.frozen
class BulkCancelResult:
    """What ``bulk_cancel_runs`` did.

    ``chunks`` has one :class:`BatchResult` per ``POST /batch/runs`` request (its ``input`` the
    chunk's run ids). ``refused`` lists the runs of failed chunks. With ``confirm=True`` the
    runs of accepted chunks are then waited for: ``canceled`` are those that ended canceled,
    ``ended`` those that ended another way (they had already finished), ``unfinished`` those
    not ended when the confirmation's ``timeout`` passed; without it these three are empty.
    """

    chunks: list[BatchResult[list[str]]]
    refused: list[str] = attrs.Factory(list)
    confirmed: bool = False
    canceled: list[Run] = attrs.Factory(list)
    ended: list[Run] = attrs.Factory(list)
    unfinished: list[Run] = attrs.Factory(list)

    @property
    def ok(self) -> bool:
        """True when every chunk was accepted (and, if confirmed, every run has ended)."""
        return not self.refused and not self.unfinished


async def bulk_cancel_runs(
    client: FlowsClient,
    runs: Iterable[str | Run],
    *,
    chunk_size: int,
    concurrency: int | None,
    confirm: bool,
    poll_interval: float,
    timeout: float | None,
) -> BulkCancelResult:
    """Cancel ``runs`` with ``POST /batch/runs``; optionally wait to see how each ended."""
    given = list(runs)
    chunks = await update_runs(
        client, given, {}, cancel=True, chunk_size=chunk_size, concurrency=concurrency
    )
    refused = [run_id for chunk in chunks if not chunk.ok for run_id in chunk.input]
    if not confirm:
        return BulkCancelResult(chunks, refused)
    accepted = [run_id for chunk in chunks if chunk.ok for run_id in chunk.input]
    deadline = None if timeout is None else anyio.current_time() + timeout
    # Runs given as Run objects carry their flow and start time: one listing at once finds
    # those already ended, and waiting for the rest needs list queries only. Bare ids are
    # looked up once (by wait_for_runs) first.
    known = {run.run_id: run for run in given if isinstance(run, Run)}
    found = await _list_ended([known[run_id] for run_id in accepted if run_id in known], client)
    waiting = [known.get(run_id, run_id) for run_id in accepted if run_id not in found]
    final = list(found.values())
    if waiting:
        left = None if deadline is None else max(0.0, deadline - anyio.current_time())
        try:
            final += await client.wait_for_runs(waiting, poll_interval=poll_interval, timeout=left)
        except WaitTimeoutError as exc:
            final += exc.last_runs
    canceled = [run for run in final if run.is_terminal and run.was_canceled]
    ended = [run for run in final if run.is_terminal and not run.was_canceled]
    seen = {run.run_id for run in canceled + ended}
    unfinished = [run for run in final if run.run_id not in seen]
    order = {run_id: position for position, run_id in enumerate(dict.fromkeys(_ids(given)))}
    for group in (canceled, ended, unfinished):
        group.sort(key=lambda run: order.get(run.run_id, 0))
    return BulkCancelResult(chunks, refused, True, canceled, ended, unfinished)


async def _list_ended(runs: list[Run], client: FlowsClient) -> dict[str, Run]:
    """Those of ``runs`` that have ended, found by listing the ended runs of their flows."""
    wanted = {run.run_id for run in runs}
    if not wanted:
        return {}
    starts = [run.start_time for run in runs if run.start_time is not None]
    since = min(starts) if len(starts) == len(runs) else None
    flow_ids = sorted({run.flow_id for run in runs})
    found: dict[str, Run] = {}
    for start in range(0, len(flow_ids), _FLOWS_PER_QUERY):
        listing = client.iter_runs(
            filter_flow_id=flow_ids[start : start + _FLOWS_PER_QUERY],
            filter_status=sorted(RunStatus.TERMINAL),
            filter_completion_time=(since, None) if since is not None else None,
            per_page=50,
        )
        async for run in listing:
            if run.run_id in wanted:
                found[run.run_id] = run
    return found


def _ids(runs: Iterable[str | Run]) -> Iterable[str]:
    for run in runs:
        yield run.run_id if isinstance(run, Run) else run


async def get_run_input(client: FlowsClient, run_id: str) -> dict[str, Any]:
    """The input a run was started with: ``details.input`` of its first log entry."""
    page = await client.get_run_logs(run_id, limit=1)
    if not page.entries:
        raise RunInputUnavailableError(run_id, "its log is empty")
    first = page.entries[0]
    if first.code != "FlowStarted":
        raise RunInputUnavailableError(run_id, f"its first log entry is {first.code!r}")
    details = first.details if isinstance(first.details, dict) else {}
    value = details.get("input")
    if not isinstance(value, dict):
        raise RunInputUnavailableError(run_id, "its FlowStarted entry has no input object")
    return value


def rerun_tags(run: Run, extra_tags: Sequence[str]) -> list[str]:
    """The tags of a rerun of ``run``: its own (less exactly-once request tags), the extra
    ones and ``rerun-of:<run id>``, each once."""
    kept = [tag for tag in run.tags if not tag.startswith(REQUEST_TAG_PREFIX)]
    return list(dict.fromkeys([*kept, *extra_tags, f"{RERUN_TAG_PREFIX}{run.run_id}"]))


async def rerun_one(
    client: FlowsClient, item: str | Run, label: str | None, extra_tags: Sequence[str]
) -> Run:
    """Start a new run of ``item``'s flow with its input, label, tags, managers, monitors."""
    run = item if isinstance(item, Run) else await client.get_run(_run_id(item))
    body = await get_run_input(client, run.run_id)
    return await client.run_flow(
        run.flow_id,
        body,
        label=label if label is not None else run.label,
        tags=rerun_tags(run, extra_tags),
        run_managers=run.run_managers or None,
        run_monitors=run.run_monitors or None,
    )


async def rerun_runs(
    client: FlowsClient,
    runs: Iterable[str | Run],
    *,
    label: str | None,
    extra_tags: Sequence[str],
    concurrency: int | None,
) -> list[BatchResult[Run]]:
    """Rerun each run (see ``FlowsClient.rerun_runs``); one result per input, in order."""
    if isinstance(runs, str):
        raise InvalidRequestError("runs must be a sequence of runs or run ids, not one str")
    if label is not None and not isinstance(label, str):
        raise InvalidRequestError("label must be a str")
    tags = _strings(extra_tags, "extra_tags")

    async def rerun(item: str | Run) -> Run:
        return await rerun_one(client, item, label, tags)

    return await run_batch(runs, rerun, concurrency=client._concurrency(concurrency))
