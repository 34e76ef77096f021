"""``FlowsClient``: the run operations of Globus Flows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from .._batch import BatchStream, effective_concurrency, run_batch, stream_batch
from .._converter import structure
from .._errors import ConflictError, InvalidRequestError, ResponseParseError
from .._models import (
    BatchResult,
    Run,
    RunDefinition,
    RunLogEntry,
    RunLogPage,
    RunPage,
    RunRequest,
)
from .._paging import MarkerPager
from .._service import ServiceClient
from .._transport import Recheck
from .._wire import ApiRequest
from . import _requests as rq
from . import _waiting
from ._starts import request_tag, start_exactly_once
from ._waiting import InactivePolicy, RunWatcher

__all__ = ["FlowsClient"]

M = TypeVar("M")
StrOrSeq = str | Sequence[str]


class FlowsClient(ServiceClient):
    """An async client for the run operations of Globus Flows.

    ``authorizer`` is a bearer token or an :class:`Authorizer`; ``http_client`` an
    ``httpx.AsyncClient`` to share (never closed by this client). Use it as an async context
    manager, or call :meth:`aclose`.

    Example::

        async with FlowsClient(authorizer=token) as flows:
            run = await flows.run_flow(flow_id, {"input": 1}, label="nightly")
            print((await flows.get_run(run.run_id)).status)
    """

    _host = "flows.automate.globus.org"

    async def _call(
        self, request: ApiRequest, cls: type[M], *, recheck: Recheck | None = None
    ) -> M:
        response = await self._transport.send(request, recheck=recheck)
        try:
            return structure(response.json(), cls, method=response.method, url=response.url)
        except ResponseParseError as exc:
            # The body's text is only needed for the error: decoded here, not on every answer.
            if not exc.text:
                exc.text = response.text()
            response.redact(exc)
            raise

    # -- starting runs -------------------------------------------------------------------

    async def run_flow(
        self,
        flow_id: str,
        body: Mapping[str, Any],
        *,
        label: str | None = None,
        tags: Sequence[str] | None = None,
        run_monitors: Sequence[str] | None = None,
        run_managers: Sequence[str] | None = None,
        activity_notification_policy: Mapping[str, Any] | Sequence[str] | None = None,
        additional_fields: Mapping[str, Any] | None = None,
    ) -> Run:
        """Start a run of ``flow_id`` with input ``body``; returns the new run.

        The request uses a token for the flow's own resource server. It is retried only when
        it provably never reached the service (a connection failure reported by the library's
        own pool or httpx's own transport) or on 429, so a run is
        never started twice by a blind retry. With ``RetryPolicy(exactly_once_starts=True)``
        the run is tagged ``globus-runs-request:<uuid>`` and, after an ambiguous failure, looked
        up before the request is sent again, so it is started exactly once. A missing flow
        raises :class:`FlowNotFoundError`.

        Example::

            run = await flows.run_flow(flow_id, {"src": "/data"}, label="scan 42", tags=["beam"])
        """
        exactly_once = self.retry.exactly_once_starts
        tag = request_tag() if exactly_once else None
        request = rq.run_flow(
            flow_id,
            body,
            label=label,
            tags=[*(tags or ()), tag] if tag is not None else tags,
            run_monitors=run_monitors,
            run_managers=run_managers,
            activity_notification_policy=activity_notification_policy,
            additional_fields=additional_fields,
        )
        if tag is None:
            return await self._call(request, Run)
        return await start_exactly_once(self, request, flow_id=flow_id, label=label, tag=tag)

    async def validate_run(
        self,
        flow_id: str,
        body: Mapping[str, Any],
        *,
        label: str | None = None,
        tags: Sequence[str] | None = None,
        run_monitors: Sequence[str] | None = None,
        run_managers: Sequence[str] | None = None,
        activity_notification_policy: Mapping[str, Any] | Sequence[str] | None = None,
        additional_fields: Mapping[str, Any] | None = None,
    ) -> None:
        """Check a start request without starting a run; raises :class:`BadRequestError` if invalid.

        Example::

            await flows.validate_run(flow_id, {"src": "/data"})
        """
        request = rq.validate_run(
            flow_id,
            body,
            label=label,
            tags=tags,
            run_monitors=run_monitors,
            run_managers=run_managers,
            activity_notification_policy=activity_notification_policy,
            additional_fields=additional_fields,
        )
        await self._transport.send(request)

    # -- listing runs --------------------------------------------------------------------

    async def list_runs(
        self,
        *,
        filter_flow_id: StrOrSeq | None = None,
        filter_status: StrOrSeq | None = None,
        filter_label: StrOrSeq | None = None,
        filter_flow_title: StrOrSeq | None = None,
        filter_roles: StrOrSeq | None = None,
        filter_start_time: rq.TimeRange | None = None,
        filter_completion_time: rq.TimeRange | None = None,
        orderby: StrOrSeq | None = None,
        per_page: int | None = None,
        marker: str | None = None,
    ) -> RunPage:
        """One page of the runs the caller can see; pass ``page.marker`` to get the next one.

        Multi-valued filters take a ``str`` or a sequence; time filters a ``(start, end)`` pair
        of aware datetimes, either end ``None``. With ``marker`` only the marker is sent.

        Example::

            page = await flows.list_runs(filter_status=["ACTIVE", "INACTIVE"], per_page=50)
            more = await flows.list_runs(marker=page.marker) if page.has_next_page else None
        """
        request = rq.list_runs(
            filter_flow_id=filter_flow_id,
            filter_status=filter_status,
            filter_label=filter_label,
            filter_flow_title=filter_flow_title,
            filter_roles=filter_roles,
            filter_start_time=filter_start_time,
            filter_completion_time=filter_completion_time,
            orderby=orderby,
            per_page=per_page,
            marker=marker,
        )
        return await self._call(request, RunPage)

    def iter_runs(
        self,
        *,
        filter_flow_id: StrOrSeq | None = None,
        filter_status: StrOrSeq | None = None,
        filter_label: StrOrSeq | None = None,
        filter_flow_title: StrOrSeq | None = None,
        filter_roles: StrOrSeq | None = None,
        filter_start_time: rq.TimeRange | None = None,
        filter_completion_time: rq.TimeRange | None = None,
        orderby: StrOrSeq | None = None,
        per_page: int | None = None,
        max_items: int | None = None,
    ) -> MarkerPager[RunPage, Run]:
        """Iterate over every matching run, following markers page by page.

        Stops at the last page, on a missing or repeated marker, or after ``max_items`` runs
        (without fetching further pages).

        Example::

            async for run in flows.iter_runs(filter_flow_id=flow_id, max_items=500):
                print(run.run_id, run.status)
        """
        first = rq.list_runs(
            filter_flow_id=filter_flow_id,
            filter_status=filter_status,
            filter_label=filter_label,
            filter_flow_title=filter_flow_title,
            filter_roles=filter_roles,
            filter_start_time=filter_start_time,
            filter_completion_time=filter_completion_time,
            orderby=orderby,
            per_page=per_page,
        )

        async def fetch(marker: str | None) -> RunPage:
            request = first if marker is None else rq.next_page("/runs", marker)
            return await self._call(request, RunPage)

        return MarkerPager(fetch, _split_run_page, max_items=max_items)

    async def list_all_runs(
        self,
        *,
        filter_flow_id: StrOrSeq | None = None,
        filter_status: StrOrSeq | None = None,
        filter_label: StrOrSeq | None = None,
        filter_flow_title: StrOrSeq | None = None,
        filter_roles: StrOrSeq | None = None,
        filter_start_time: rq.TimeRange | None = None,
        filter_completion_time: rq.TimeRange | None = None,
        orderby: StrOrSeq | None = None,
        per_page: int | None = None,
        max_items: int | None = None,
    ) -> list[Run]:
        """Every matching run, from all pages, as a list.

        Example::

            failed = await flows.list_all_runs(filter_flow_id=flow_id, filter_status="FAILED")
        """
        pager = self.iter_runs(
            filter_flow_id=filter_flow_id,
            filter_status=filter_status,
            filter_label=filter_label,
            filter_flow_title=filter_flow_title,
            filter_roles=filter_roles,
            filter_start_time=filter_start_time,
            filter_completion_time=filter_completion_time,
            orderby=orderby,
            per_page=per_page,
            max_items=max_items,
        )
        return await pager.collect()

    # -- one run -------------------------------------------------------------------------

    async def get_run(self, run_id: str, *, include_flow_description: bool = False) -> Run:
        """The run ``run_id``; raises :class:`RunNotFoundError` if it does not exist.

        Example::

            run = await flows.get_run(run_id, include_flow_description=True)
            print(run.status, run.flow_description)
        """
        request = rq.get_run(run_id, include_flow_description=include_flow_description)
        return await self._call(request, Run)

    async def update_run(
        self,
        run_id: str,
        *,
        label: str | None = None,
        tags: Sequence[str] | None = None,
        run_monitors: Sequence[str] | None = None,
        run_managers: Sequence[str] | None = None,
    ) -> Run:
        """Change a run's label, tags, monitors or managers; a keyword left out is not sent.

        Lists replace the stored ones; an empty list clears the field.

        Example::

            run = await flows.update_run(run_id, tags=["reprocessed"], run_monitors=[])
        """
        request = rq.update_run(
            run_id, label=label, tags=tags, run_monitors=run_monitors, run_managers=run_managers
        )
        return await self._call(request, Run)

    async def cancel_run(self, run_id: str) -> Run:
        """Ask the service to cancel a run; returns the run as the service reports it.

        A canceled run ends ``FAILED`` (or ``ENDED``) with ``run.was_canceled`` true.
        Cancelling a run that has ended raises :class:`ConflictError` (``STATE_CONFLICT``),
        except when a retried request meets a run its own earlier attempt canceled (the answer
        was lost): that run is returned.

        Example::

            run = await flows.cancel_run(run_id)
        """
        try:
            return await self._call(rq.cancel_run(run_id), Run)
        except ConflictError as exc:
            if exc.attempts == 1:
                raise
            run = await self.get_run(run_id)
            if run.was_canceled:
                return run
            raise

    async def resume_run(self, run_id: str, *, flow_id: str | None = None) -> Run:
        """Resume an ``INACTIVE`` run (after the missing consent was granted, say).

        The request needs a token for the run's flow; without ``flow_id`` the run is fetched
        first to learn it.

        Example::

            run = await flows.resume_run(run_id)
        """
        if flow_id is None:
            flow_id = (await self.get_run(run_id)).flow_id
        return await self._call(rq.resume_run(run_id, flow_id), Run)

    async def release_run(self, run_id: str) -> Run:
        """Remove a finished run from the service; raises :class:`ConflictError` if it is not.

        Example::

            await flows.release_run(run_id)
        """
        return await self._call(rq.release_run(run_id), Run)

    async def get_run_definition(self, run_id: str) -> RunDefinition:
        """The flow definition and input schema the run was started with.

        Example::

            definition = await flows.get_run_definition(run_id)
            print(definition.definition["StartAt"])
        """
        return await self._call(rq.get_run_definition(run_id), RunDefinition)

    # -- logs ----------------------------------------------------------------------------

    async def get_run_logs(
        self,
        run_id: str,
        *,
        limit: int = 10,
        marker: str | None = None,
        reverse_order: bool = False,
    ) -> RunLogPage:
        """One page of a run's log (``limit`` 1 to 100 entries).

        Example::

            page = await flows.get_run_logs(run_id, limit=100, reverse_order=True)
            latest = page.entries[0] if page.entries else None
        """
        request = rq.get_run_logs(run_id, limit=limit, marker=marker, reverse_order=reverse_order)
        return await self._call(request, RunLogPage)

    def iter_run_logs(
        self,
        run_id: str,
        *,
        page_size: int = 100,
        reverse_order: bool = False,
        max_items: int | None = None,
    ) -> MarkerPager[RunLogPage, RunLogEntry]:
        """Iterate over a run's log entries, page by page.

        Example::

            async for entry in flows.iter_run_logs(run_id):
                print(entry.time, entry.code)
        """
        first = rq.get_run_logs(run_id, limit=page_size, reverse_order=reverse_order)

        async def fetch(marker: str | None) -> RunLogPage:
            request = first if marker is None else rq.get_run_logs(run_id, marker=marker)
            return await self._call(request, RunLogPage)

        return MarkerPager(fetch, _split_log_page, max_items=max_items)

    async def list_all_run_logs(
        self, run_id: str, *, reverse_order: bool = False
    ) -> list[RunLogEntry]:
        """Every entry of a run's log, as a list.

        Example::

            entries = await flows.list_all_run_logs(run_id)
        """
        return await self.iter_run_logs(run_id, reverse_order=reverse_order).collect()

    # -- waiting -------------------------------------------------------------------------

    async def wait_for_run(
        self,
        run_id: str,
        *,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        on_inactive: InactivePolicy = "wait",
    ) -> Run:
        """Wait until the run is ``SUCCEEDED``, ``FAILED`` or ``ENDED``; return its final state.

        The first check is immediate; later ones back off from ``poll_interval`` (jittered) up
        to 60 s. An ``INACTIVE`` run is polled on (``"wait"``), returned (``"return"``) or
        raised as :class:`RunInactiveError` (``"raise"``). Transient failures (network, 5xx,
        429) are ridden out. Past ``timeout`` seconds, :class:`WaitTimeoutError` carries
        ``last_run``. An enclosing ``anyio.fail_after`` cancels the wait as usual.

        Example::

            run = await flows.wait_for_run(run.run_id, timeout=3600, on_inactive="raise")
            if run.status != "SUCCEEDED":
                print(run.error)
        """
        return await _waiting.wait_for_run(
            self, run_id, poll_interval=poll_interval, timeout=timeout, on_inactive=on_inactive
        )

    async def wait_for_runs(
        self,
        run_ids: Iterable[str | Run],
        *,
        poll_interval: float = 5.0,
        timeout: float | None = None,
    ) -> list[Run]:
        """Wait for many runs to be terminal; return their final states in input order.

        Instead of polling each run, each poll lists the terminal runs of the runs' flows that
        completed since the previous poll (``GET /runs`` filtered by flow id, status and
        completion time), so a thousand runs cost a few requests per interval. Runs given as
        :class:`Run` objects (as ``batch_run_flows`` returns them) need no first look-up; bare
        ids are fetched once. INACTIVE runs are waited for. Past ``timeout``,
        :class:`WaitTimeoutError` carries ``last_runs``.

        Example::

            started = [r.unwrap() for r in await flows.batch_run_flows(requests)]
            finished = await flows.wait_for_runs(started, poll_interval=10)
        """
        return await _waiting.wait_for_runs(
            self, run_ids, poll_interval=poll_interval, timeout=timeout
        )

    def watch_run(
        self, run_id: str, *, poll_interval: float = 2.0, include_logs: bool = True
    ) -> RunWatcher:
        """Iterate over a run's events until it is terminal.

        Yields :class:`RunLogEvent` for each new log entry (each once, oldest first) and
        :class:`RunStatusEvent` for each status change; the last event is the terminal status.

        Example::

            async for event in flows.watch_run(run_id):
                if isinstance(event, RunLogEvent):
                    print(event.entry.code)
                else:
                    print("status:", event.status)
        """
        return RunWatcher(self, run_id, poll_interval=poll_interval, include_logs=include_logs)

    # -- batches -------------------------------------------------------------------------

    def _concurrency(self, requested: int | None) -> int:
        return effective_concurrency(requested, self.concurrency, self._transport.pool_size)

    async def _start(self, request: RunRequest) -> Run:
        if not isinstance(request, RunRequest):
            raise InvalidRequestError(f"expected a RunRequest, got {type(request).__name__}")
        return await self.run_flow(
            request.flow_id,
            request.body,
            label=request.label,
            tags=request.tags,
            run_monitors=request.run_monitors,
            run_managers=request.run_managers,
            activity_notification_policy=request.activity_notification_policy,
        )

    async def _get(self, run_id: str) -> Run:
        return await self.get_run(run_id)

    async def batch_run_flows(
        self, requests: Iterable[RunRequest], *, concurrency: int | None = None
    ) -> list[BatchResult[Run]]:
        """Start many runs; one :class:`BatchResult` per request, in input order.

        At most ``concurrency`` requests (default: the client's) are in flight, and never more
        than the connection pool holds. A failed start is that item's ``error``; nothing is
        raised for it. Cancelling the caller cancels the batch.

        Example::

            requests = [RunRequest(flow_id, {"scan": n}, label=f"scan {n}") for n in range(500)]
            results = await flows.batch_run_flows(requests, concurrency=32)
            failed = [r for r in results if not r.ok]
        """
        return await self._batch(requests, self._start, concurrency)

    async def batch_get_runs(
        self, run_ids: Iterable[str], *, concurrency: int | None = None
    ) -> list[BatchResult[Run]]:
        """Fetch many runs; one :class:`BatchResult` per id, in input order.

        Example::

            results = await flows.batch_get_runs(run_ids)
            statuses = {r.input: r.value.status for r in results if r.ok}
        """
        return await self._batch(run_ids, self._get, concurrency)

    async def batch_cancel_runs(
        self, run_ids: Iterable[str], *, concurrency: int | None = None
    ) -> list[BatchResult[Run]]:
        """Cancel many runs; one :class:`BatchResult` per id, in input order.

        Example::

            results = await flows.batch_cancel_runs(run_ids)
        """
        return await self._batch(run_ids, self.cancel_run, concurrency)

    def stream_run_flows(
        self, requests: Iterable[RunRequest], *, concurrency: int | None = None
    ) -> AbstractAsyncContextManager[BatchStream[Run]]:
        """Start runs from a (possibly lazy, very long) iterable, yielding results as they end.

        Memory stays bounded by the concurrency. Results come in completion order; each
        ``result.index`` is its position in the input. Leaving the block cancels what is left.

        Example::

            async with flows.stream_run_flows(read_requests(path), concurrency=64) as results:
                async for result in results:
                    record(result.index, result.value.run_id if result.ok else result.error)
        """
        return stream_batch(requests, self._start, concurrency=self._concurrency(concurrency))

    def stream_get_runs(
        self, run_ids: Iterable[str], *, concurrency: int | None = None
    ) -> AbstractAsyncContextManager[BatchStream[Run]]:
        """Fetch runs from a (possibly lazy) iterable of ids, yielding results as they end.

        Example::

            async with flows.stream_get_runs(ids_from_file()) as results:
                async for result in results:
                    print(result.index, result.value.status if result.ok else result.error)
        """
        return stream_batch(run_ids, self._get, concurrency=self._concurrency(concurrency))

    def stream_cancel_runs(
        self, run_ids: Iterable[str], *, concurrency: int | None = None
    ) -> AbstractAsyncContextManager[BatchStream[Run]]:
        """Cancel runs from a (possibly lazy) iterable of ids, yielding results as they end.

        Example::

            async with flows.stream_cancel_runs(run_ids) as results:
                failures = [r async for r in results if not r.ok]
        """
        return stream_batch(run_ids, self.cancel_run, concurrency=self._concurrency(concurrency))

    async def _batch(
        self,
        items: Iterable[Any],
        operation: Callable[[Any], Awaitable[Run]],
        concurrency: int | None,
    ) -> list[BatchResult[Run]]:
        return await run_batch(items, operation, concurrency=self._concurrency(concurrency))


def _split_run_page(page: RunPage) -> tuple[list[Run], bool, str | None]:
    return page.runs, page.has_next_page, page.marker


def _split_log_page(page: RunLogPage) -> tuple[list[RunLogEntry], bool, str | None]:
    return page.entries, page.has_next_page, page.marker
