"""``FlowsClient``: the run operations of Globus Flows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from .._batch import BatchStream, Stops, effective_concurrency, run_batch, stream_batch
from .._converter import structure, structure_streamed
from .._errors import ConflictError, InvalidRequestError, ResponseParseError
from .._http.attempts import Recheck, Response
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
from .._telemetry import parent_span
from .._wire import ApiRequest
from . import _fleet, _waiting
from . import _requests as rq
from . import _web_inputs as wi
from ._starts import REQUEST_TAG_PREFIX, request_tag, start_exactly_once
from ._stops import flows_stops
from ._tracker import OFF_LOOP_BYTES, decode_yielding
from ._wait_progress import ProgressCallback
from ._waiting import InactivePolicy, RunCompletions, RunWatcher

if TYPE_CHECKING:
    from .._consent import ConsentGroup
    from .._web_input_models import WebInput, WebInputPage, WebInputSummary

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
        if len(response.content) > OFF_LOOP_BYTES:
            # A large response (a page of many or big runs) is decoded and converted in a
            # worker thread: the event loop's other tasks go on meanwhile.
            return await anyio.to_thread.run_sync(self._read_large, response, cls)
        return self._read(response, cls)

    def _read_large(self, response: Response, cls: type[M]) -> M:
        """:meth:`_read` for a large body: a page of runs a run at a time (see
        :func:`structure_streamed`); anything else decoded with :func:`decode_yielding`."""
        streamed = structure_streamed(response.content, cls)
        if streamed is not None:
            return streamed
        return self._read(response, cls, decode_yielding)

    def _read(
        self,
        response: Response,
        cls: type[M],
        decode: Callable[[Response], Any] = Response.json,
    ) -> M:
        """The body of ``response`` (decoded by ``decode``) as ``cls``; a
        :class:`ResponseParseError` carries the body with the request's secrets redacted."""
        try:
            return structure(decode(response), cls, method=response.method, url=response.url)
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
        up before the request is sent again, so it is started exactly once. A tag of that form
        already among ``tags`` (one a driver recorded before sending, to look the run up after
        a crash) is used as is, not joined by a second one. A missing flow raises
        :class:`FlowNotFoundError`.

        Example::

            run = await flows.run_flow(flow_id, {"src": "/data"}, label="scan 42", tags=["beam"])
        """
        tag = None
        if self.retry.exactly_once_starts:
            given = [
                t for t in tags or () if isinstance(t, str) and t.startswith(REQUEST_TAG_PREFIX)
            ]
            tag = given[0] if given else request_tag()
            if not given:
                tags = [*(tags or ()), tag]
        request = rq.run_flow(
            flow_id,
            body,
            label=label,
            tags=tags,
            run_monitors=run_monitors,
            run_managers=run_managers,
            activity_notification_policy=activity_notification_policy,
            additional_fields=additional_fields,
        )
        if tag is None:
            return await self._call(request, Run)
        with parent_span("globus_runs.start_exactly_once", {"globus_runs.flow_id": flow_id}):
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
        ``per_page`` is any positive int, sent as given: Flows documents no maximum, 50 is
        the largest size known to work, and a size the service does not accept comes back as
        its error (the emulator accepts 1 to 50 and answers more with a 422).

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
        raised as :class:`RunInactiveError` (``"raise"``). Past ``timeout`` seconds,
        :class:`WaitTimeoutError` carries ``last_run``. An enclosing ``anyio.fail_after``
        cancels the wait as usual.

        Transient failures (network, 5xx, 429) are polled through, within the client's
        :class:`RetryPolicy`: the wait raises the last such error (:class:`NetworkError`,
        :class:`ServerError`, ...) on the ``max_retries + 1``-th failed poll in a row, or on a
        failed poll ``max_elapsed`` seconds after the last successful one (each poll having
        been retried first). Any other error (401, 403, 404, ...) ends the wait at once: a run
        deleted while waited for raises :class:`RunNotFoundError`.

        The wait goes through the client's tracker with every other wait of the client (and of
        the clients sharing its ``http_client`` and token): concurrent waits for many runs are
        polled together, with list queries, each keeping its own timeout, poll interval and
        policy; cancelling one leaves the others as they are.

        Example::

            run = await flows.wait_for_run(run.run_id, timeout=3600, on_inactive="raise")
            if run.status != "SUCCEEDED":
                print(run.error)
        """
        with parent_span("globus_runs.wait_for_run", {"globus_runs.run_id": run_id}):
            return await _waiting.wait_for_run(
                self, run_id, poll_interval=poll_interval, timeout=timeout, on_inactive=on_inactive
            )

    async def wait_for_runs(
        self,
        run_ids: Iterable[str | Run],
        *,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        on_inactive: InactivePolicy = "wait",
        on_progress: ProgressCallback | None = None,
    ) -> list[Run]:
        """Wait for many runs to be terminal; return their final states in input order.

        Instead of polling each run, each poll lists the terminal runs of the runs' flows that
        completed since the previous poll (``GET /runs`` filtered by flow id, status and
        completion time), so a thousand runs cost a few requests per interval. Runs given as
        :class:`Run` objects (as ``batch_run_flows`` returns them) need no first look-up; bare
        ids are fetched once. The first listing is immediate. INACTIVE runs are waited for
        (``on_inactive="wait"``), counted as finished (``"return"``; each one's
        ``inactive_reason`` says why it paused) or raised as :class:`RunInactiveError`
        (``"raise"``); those policies also list the flows' INACTIVE runs on each poll. Past
        ``timeout``, :class:`WaitTimeoutError` carries ``last_runs``. Failures end the wait as
        in :meth:`wait_for_run`, but a run deleted (404) ends only its own wait: once every
        other run has ended, :class:`RunsNotFoundError` (a :class:`RunNotFoundError`) is raised
        carrying ``results``, every run's outcome in input order, and ``missing``, the ids not
        found. A run the list queries have not shown for five polls is confirmed with a GET.
        It is built on :meth:`as_completed`.

        ``on_progress``, when given, is called after each successful poll (the first look-up
        of bare ids included) with a :class:`WaitProgress`: how many runs have ended, out of
        how many, and how many are in each status. It runs in the waiting task: it should
        return quickly, and an exception it raises ends the wait.

        Example::

            started = [r.unwrap() for r in await flows.batch_run_flows(requests)]
            finished = await flows.wait_for_runs(started, poll_interval=10)
        """
        with parent_span("globus_runs.wait_for_runs"):
            return await _waiting.wait_for_runs(
                self,
                run_ids,
                poll_interval=poll_interval,
                timeout=timeout,
                on_inactive=on_inactive,
                on_progress=on_progress,
            )

    def as_completed(
        self,
        run_ids: Iterable[str | Run],
        *,
        poll_interval: float = 5.0,
        timeout: float | None = None,
        on_inactive: InactivePolicy = "wait",
    ) -> RunCompletions:
        """Iterate over the runs as they end: a :class:`BatchResult` per run, in the order
        they end, polled as :meth:`wait_for_runs` polls.

        Each result's ``index`` is the run's position in ``run_ids`` and ``input`` its id;
        ``value`` is the final :class:`Run`, or ``error`` a :class:`RunNotFoundError` for a
        run that was deleted. Only the runs not ended yet are tracked (their id, flow, status
        and when they were last seen; about 200 bytes each), so a driver of 100,000 runs holds
        no more than what it keeps of the results. ``on_inactive`` as in :meth:`wait_for_runs`
        (``"return"`` yields paused runs). Past ``timeout`` seconds from the first step,
        :class:`WaitTimeoutError` carries the last status seen of each run not ended. Other
        failures end the iteration as in :meth:`wait_for_run`. Leave early with ``async with``
        or :meth:`RunCompletions.aclose`.

        Example::

            async with flows.as_completed(run_ids, poll_interval=10) as ended:
                async for result in ended:
                    if result.ok:
                        record(result.value)  # your own store
                    else:
                        print(result.input, "was deleted")
        """
        return RunCompletions(
            self, run_ids, poll_interval=poll_interval, timeout=timeout, on_inactive=on_inactive
        )

    def watch_run(
        self, run_id: str, *, poll_interval: float = 2.0, include_logs: bool = True
    ) -> RunWatcher:
        """Iterate over a run's events until it is terminal.

        Yields :class:`RunLogEvent` for each new log entry (each once, oldest first) and
        :class:`RunStatusEvent` for each status change; the last event is the terminal status.
        A run that starts waiting for a person yields :class:`RunWaitingForInputEvent` (once
        per web input, with the input when the caller may read it) and a run that goes
        ``INACTIVE`` for consent :class:`RunNeedsConsentEvent` (with the scopes to consent to).
        Failures end the iteration as they end :meth:`wait_for_run`.

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

        Once an answer shows that other items must fail the same way (a rejected token that
        cannot be renewed, a 403 ``MISSING_SCOPE``, a missing or forbidden flow), those items
        are not sent: each still gets its result, whose error is a :class:`NotAttemptedError`
        carrying that answer as ``cause``. Items of other flows go on. The other batch and
        streaming methods do the same.

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
        return stream_batch(
            requests, self._start, concurrency=self._concurrency(concurrency), stops=self._stops()
        )

    def stream_get_runs(
        self, run_ids: Iterable[str], *, concurrency: int | None = None
    ) -> AbstractAsyncContextManager[BatchStream[Run]]:
        """Fetch runs from a (possibly lazy) iterable of ids, yielding results as they end.

        Example::

            async with flows.stream_get_runs(ids_from_file()) as results:
                async for result in results:
                    print(result.index, result.value.status if result.ok else result.error)
        """
        return stream_batch(
            run_ids, self._get, concurrency=self._concurrency(concurrency), stops=self._stops()
        )

    def stream_cancel_runs(
        self, run_ids: Iterable[str], *, concurrency: int | None = None
    ) -> AbstractAsyncContextManager[BatchStream[Run]]:
        """Cancel runs from a (possibly lazy) iterable of ids, yielding results as they end.

        Example::

            async with flows.stream_cancel_runs(run_ids) as results:
                failures = [r async for r in results if not r.ok]
        """
        return stream_batch(
            run_ids,
            self.cancel_run,
            concurrency=self._concurrency(concurrency),
            stops=self._stops(),
        )

    async def _resume(self, item: str | Run) -> Run:
        if isinstance(item, Run):
            return await self.resume_run(item.run_id, flow_id=item.flow_id)
        return await self.resume_run(item)

    async def batch_resume_runs(
        self, run_ids: Iterable[str | Run], *, concurrency: int | None = None
    ) -> list[BatchResult[Run]]:
        """Resume many ``INACTIVE`` runs; one :class:`BatchResult` per item, in input order.

        Items are run ids or :class:`Run` objects; a ``Run`` needs no look-up of its flow
        (an id costs one ``GET /runs/{id}`` first). A run whose consent is still missing may
        come back ``INACTIVE``: check ``result.value.status``.

        Example::

            for group in await flows.list_consent_groups(filter_flow_id=flow_id):
                await consent_to(group.required_scopes)  # your login step
                results = await flows.batch_resume_runs(group.runs)
        """
        return await run_batch(
            run_ids,
            self._resume,
            concurrency=self._concurrency(concurrency),
            stops=self._resume_stops(),
        )

    def stream_resume_runs(
        self, run_ids: Iterable[str | Run], *, concurrency: int | None = None
    ) -> AbstractAsyncContextManager[BatchStream[Run]]:
        """Resume runs from a (possibly lazy) iterable, yielding results as they end.

        Example::

            async with flows.stream_resume_runs(group.runs) as results:
                still_paused = [r async for r in results if r.ok and r.value.status == "INACTIVE"]
        """
        return stream_batch(
            run_ids,
            self._resume,
            concurrency=self._concurrency(concurrency),
            stops=self._resume_stops(),
        )

    async def list_consent_groups(
        self,
        *,
        filter_flow_id: StrOrSeq | None = None,
        filter_label: StrOrSeq | None = None,
        max_items: int | None = None,
    ) -> list[ConsentGroup]:
        """The caller's ``INACTIVE`` runs, grouped by the consent each one needs.

        Consent once per group (its ``required_scopes``), then resume the group's runs with
        :meth:`batch_resume_runs`. See :func:`group_by_consent` to group runs you already have.

        Example::

            groups = await flows.list_consent_groups(filter_flow_id=flow_id)
            print([(g.required_scopes, len(g.runs)) for g in groups])
        """
        runs = await self.list_all_runs(
            filter_flow_id=filter_flow_id,
            filter_label=filter_label,
            filter_status="INACTIVE",
            per_page=rq.MAX_PER_PAGE,
            max_items=max_items,
        )
        from .._consent import group_by_consent  # imported on first use

        return group_by_consent(runs)

    # -- web inputs ----------------------------------------------------------------------

    async def list_web_inputs(
        self,
        *,
        filter_roles: StrOrSeq | None = None,
        filter_states: StrOrSeq | None = None,
        filter_flow_ids: StrOrSeq | None = None,
        filter_run_ids: StrOrSeq | None = None,
        orderby: StrOrSeq | None = None,
        per_page: int | None = None,
        marker: str | None = None,
    ) -> WebInputPage:
        """One page of the web inputs the caller holds a role on.

        ``filter_roles`` takes ``"viewer"``/``"respondent"``, ``filter_states``
        ``"open"``/``"closed"``, the id filters at most 10 ids each; ``orderby`` such as
        ``"created_timestamp DESC"``. Bad values raise :class:`InvalidRequestError` before
        any request. With ``marker`` only the marker is sent.

        Example::

            page = await flows.list_web_inputs(filter_states="open", filter_roles="respondent")
            for summary in page.web_inputs:
                print(summary.id, summary.title)
        """
        request = wi.list_web_inputs(
            filter_roles=filter_roles,
            filter_states=filter_states,
            filter_flow_ids=filter_flow_ids,
            filter_run_ids=filter_run_ids,
            orderby=orderby,
            per_page=per_page,
            marker=marker,
        )
        from .._web_input_models import WebInputPage  # imported on first use

        return await self._call(request, WebInputPage)

    def iter_web_inputs(
        self,
        *,
        filter_roles: StrOrSeq | None = None,
        filter_states: StrOrSeq | None = None,
        filter_flow_ids: StrOrSeq | None = None,
        filter_run_ids: StrOrSeq | None = None,
        orderby: StrOrSeq | None = None,
        per_page: int | None = None,
        max_items: int | None = None,
    ) -> MarkerPager[WebInputPage, WebInputSummary]:
        """Iterate over every matching web input, following markers page by page.

        Example::

            async for summary in flows.iter_web_inputs(filter_run_ids=[run_id]):
                print(summary.status, summary.title)
        """
        first = wi.list_web_inputs(
            filter_roles=filter_roles,
            filter_states=filter_states,
            filter_flow_ids=filter_flow_ids,
            filter_run_ids=filter_run_ids,
            orderby=orderby,
            per_page=per_page,
        )

        async def fetch(marker: str | None) -> WebInputPage:
            request = first if marker is None else wi.next_page(marker)
            from .._web_input_models import WebInputPage  # imported on first use

            return await self._call(request, WebInputPage)

        return MarkerPager(fetch, _split_web_input_page, max_items=max_items)

    async def get_web_input(self, web_input_id: str) -> WebInput:
        """The web input ``web_input_id``: its question, options and roles.

        Raises :class:`WebInputNotFoundError` when it does not exist (or the caller holds no
        role on it), :class:`PermissionDeniedError` with ``authorization_parameters`` when
        the flow's authentication policy needs a new session.

        Example::

            web_input = await flows.get_web_input(run.blocking_web_input_id)
            print(web_input.title, [option.label for option in web_input.options])
        """
        from .._web_input_models import WebInput  # imported on first use

        return await self._call(wi.get_web_input(web_input_id), WebInput)

    async def respond_to_web_input(self, web_input_id: str, value: Any) -> None:
        """Answer a web input; for a ``selection`` input ``value`` is an ``option_id``.

        Raises :class:`WebInputNotFoundError` (404), :class:`ConflictError` when it is already
        closed (409), :class:`PermissionDeniedError` when the caller is not a respondent or
        must sign in again (403; see its ``authorization_parameters``), and
        :class:`UnprocessableEntityError` for a value that is not an option (422).

        Example::

            web_input = await flows.get_web_input(web_input_id)
            await flows.respond_to_web_input(web_input.id, web_input.options[0].option_id)
        """
        await self._transport.send(wi.respond_to_web_input(web_input_id, value))

    async def _batch(
        self,
        items: Iterable[Any],
        operation: Callable[[Any], Awaitable[Run]],
        concurrency: int | None,
    ) -> list[BatchResult[Run]]:
        return await run_batch(
            items, operation, concurrency=self._concurrency(concurrency), stops=self._stops()
        )

    def _stops(self) -> Stops[Any]:
        return flows_stops(self.authorizer)

    def _resume_stops(self) -> Stops[Any]:
        # A resume needs its run's own flow's token: only a rejected fixed token stops them all.
        return flows_stops(self.authorizer, token_only=True)

    # -- fleet operations ----------------------------------------------------------------

    async def update_runs(
        self,
        run_ids: Iterable[str | Run],
        *,
        set_tags: Sequence[str] | None = None,
        add_tags: Sequence[str] | None = None,
        remove_tags: Sequence[str] | None = None,
        set_run_managers: Sequence[str] | None = None,
        add_run_managers: Sequence[str] | None = None,
        remove_run_managers: Sequence[str] | None = None,
        set_run_monitors: Sequence[str] | None = None,
        add_run_monitors: Sequence[str] | None = None,
        remove_run_monitors: Sequence[str] | None = None,
        cancel: bool = False,
        chunk_size: int = _fleet.DEFAULT_CHUNK_SIZE,
        concurrency: int | None = None,
    ) -> list[BatchResult[list[str]]]:
        """Change many runs with ``POST /batch/runs``, ``chunk_size`` run ids per request.

        ``set_*`` replaces a list, ``add_*`` and ``remove_*`` edit it; ``cancel=True`` also
        cancels the runs. Ids are validated (UUIDs) and de-duplicated before any request. The
        chunks (default :data:`DEFAULT_CHUNK_SIZE`, 500 ids) are sent as a batch, at most
        ``concurrency`` at a time, pausing on 429; the result has one :class:`BatchResult`
        per chunk, in order, whose ``input`` is the chunk's ids. A chunk is all or nothing:
        one run the caller may not manage refuses it (:class:`PermissionDeniedError`).

        Example::

            results = await flows.update_runs(run_ids, add_tags=["checked"], remove_tags=["new"])
            refused = [run_id for r in results if not r.ok for run_id in r.input]
        """
        changes = {
            "set": {
                "tags": set_tags,
                "run_managers": set_run_managers,
                "run_monitors": set_run_monitors,
            },
            "add": {
                "tags": add_tags,
                "run_managers": add_run_managers,
                "run_monitors": add_run_monitors,
            },
            "remove": {
                "tags": remove_tags,
                "run_managers": remove_run_managers,
                "run_monitors": remove_run_monitors,
            },
        }
        given = {
            section: {name: value for name, value in fields.items() if value is not None}
            for section, fields in changes.items()
        }
        return await _fleet.update_runs(
            self, run_ids, given, cancel=cancel, chunk_size=chunk_size, concurrency=concurrency
        )

    async def bulk_cancel_runs(
        self,
        runs: Iterable[str | Run],
        *,
        chunk_size: int = _fleet.DEFAULT_CHUNK_SIZE,
        concurrency: int | None = None,
        confirm: bool = False,
        poll_interval: float = 5.0,
        timeout: float | None = None,
    ) -> _fleet.BulkCancelResult:
        """Cancel many runs in a few ``POST /batch/runs`` requests (see :meth:`update_runs`).

        With ``confirm=True`` the runs of accepted chunks are then waited for with list
        queries (as :meth:`wait_for_runs`; give :class:`Run` objects rather than ids to skip
        a first look-up of each), for at most ``timeout`` seconds, and sorted into
        ``canceled``, ``ended`` (finished before the cancel) and ``unfinished``.

        Example::

            outcome = await flows.bulk_cancel_runs(runs, confirm=True, timeout=300)
            print(len(outcome.canceled), "canceled;", len(outcome.ended), "had ended")
        """
        return await _fleet.bulk_cancel_runs(
            self,
            runs,
            chunk_size=chunk_size,
            concurrency=concurrency,
            confirm=confirm,
            poll_interval=poll_interval,
            timeout=timeout,
        )

    async def get_run_input(self, run_id: str) -> dict[str, Any]:
        """The input ``run_id`` was started with (``details.input`` of its ``FlowStarted`` log
        entry); raises :class:`RunInputUnavailableError` when the log does not hold it.

        Example::

            body = await flows.get_run_input(run_id)
        """
        return await _fleet.get_run_input(self, run_id)

    async def rerun_runs(
        self,
        runs: Iterable[str | Run],
        *,
        label: str | None = None,
        extra_tags: Sequence[str] = (),
        concurrency: int | None = None,
    ) -> list[BatchResult[Run]]:
        """Start each run again: same flow, same input; one :class:`BatchResult` per input.

        The new run keeps the old label (unless ``label`` is given), managers, monitors and
        tags, plus ``extra_tags`` and ``rerun-of:<old run id>``. Runs given as ids are fetched
        first; the input comes from each run's log (:meth:`get_run_input`). Starts follow the
        client's :class:`RetryPolicy`: with ``exactly_once_starts=True`` each rerun is
        started exactly once even when an answer is lost.

        Example::

            failed = await flows.list_all_runs(filter_flow_id=flow_id, filter_status="FAILED")
            results = await flows.rerun_runs(failed, extra_tags=["retry-1"])
        """
        return await _fleet.rerun_runs(
            self, runs, label=label, extra_tags=extra_tags, concurrency=concurrency
        )


def _split_run_page(page: RunPage) -> tuple[list[Run], bool, str | None]:
    return page.runs, page.has_next_page, page.marker


def _split_web_input_page(
    page: WebInputPage,
) -> tuple[list[WebInputSummary], bool, str | None]:
    return page.web_inputs, page.has_next_page, page.marker


def _split_log_page(page: RunLogPage) -> tuple[list[RunLogEntry], bool, str | None]:
    return page.entries, page.has_next_page, page.marker
