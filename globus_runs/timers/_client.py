"""``TimersClient``: a timer's runs, triggering a run now, and the timer lifecycle."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .._auth import Authorizer
from .._body import DEFAULT_MAX_RESPONSE_SIZE
from .._errors import (
    InvalidIdError,
    InvalidRequestError,
    ResponseParseError,
    TimerNotFoundError,
    UnsupportedTimerError,
)
from .._http.attempts import Response
from .._http.clients import AsyncBaseTransport, AsyncClient
from .._paging import MarkerPager
from .._retry import RetryPolicy
from .._service import ServiceClient
from .._timer_models import RunResult, Timer, TimerRun, TimerRunPage, TimerRunStatus
from .._wire import ApiRequest, check_base_url
from ..flows import FlowsClient
from . import _requests as rq
from ._flows_url import flows_url_for
from ._parse import parse_results, timer_from_document

__all__ = ["TimersClient"]

RunFilter = Callable[[TimerRun], bool]
_DEFAULT_PAGE_SIZE = 50


def _run_filter(
    status: str | Sequence[str] | None, start_after: datetime | None, start_before: datetime | None
) -> RunFilter:
    """The client-side filter the service does not offer: status and start-time bounds."""
    wanted: frozenset[str] | None = None
    if status is not None:
        wanted = frozenset([status] if isinstance(status, str) else status)
        unknown = wanted - TimerRunStatus.ALL
        if unknown:
            raise InvalidRequestError(
                f"status must be among {sorted(TimerRunStatus.ALL)}, not {sorted(unknown)}"
            )
    for bound, name in ((start_after, "start_after"), (start_before, "start_before")):
        if bound is not None and (not isinstance(bound, datetime) or bound.tzinfo is None):
            raise InvalidRequestError(f"{name} must be a timezone-aware datetime")

    def keep(run: TimerRun) -> bool:
        if wanted is not None and run.status not in wanted:
            return False
        if start_after is not None and (run.start_time is None or run.start_time <= start_after):
            return False
        return not (
            start_before is not None and (run.start_time is None or run.start_time >= start_before)
        )

    return keep


class TimersClient(ServiceClient):
    """An async client for Globus Timers: a timer's runs and its lifecycle.

    ``flows`` is the :class:`FlowsClient` that :meth:`run_timer` starts runs with; when not
    given, one is built on this client's authorizer and connection pool (at
    ``flows_base_url``, or the Flows URL of ``environment``; with ``base_url`` alone, see
    :attr:`flows`).

    Example::

        async with TimersClient(authorizer=token) as timers:
            async for run in timers.iter_runs(timer_id, status="failure"):
                print(run.start_time, run.result.error)
    """

    _host = "timer.automate.globus.org"

    def __init__(
        self,
        *,
        authorizer: str | Authorizer | None = None,
        base_url: str | None = None,
        environment: str = "production",
        http_client: AsyncClient | None = None,
        timeout: float | None = 60.0,
        retry: RetryPolicy | None = None,
        concurrency: int = 10,
        transport: AsyncBaseTransport | None = None,
        flows: FlowsClient | None = None,
        flows_base_url: str | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        super().__init__(
            authorizer=authorizer,
            base_url=base_url,
            environment=environment,
            http_client=http_client,
            timeout=timeout,
            retry=retry,
            concurrency=concurrency,
            transport=transport,
            max_response_size=max_response_size,
        )
        self._environment = environment
        self._retry = retry
        self._timeout = timeout
        self._flows = flows
        # Checked now: a token must never be sent over http to a remote host.
        self._flows_base_url = check_base_url(flows_base_url) if flows_base_url else None
        # A Timers URL of the caller's own says nothing of production Flows: run_timer must
        # not fall back to it (see flows_url_for).
        self._own_base_url = base_url is not None

    @property
    def flows(self) -> FlowsClient:
        """The :class:`FlowsClient` used by :meth:`run_timer` (shares this client's pool).

        When this client was given ``base_url`` but neither ``flows_base_url`` nor ``flows``,
        the Flows URL is derived only where it is certain (a Globus Timers host, or the
        emulator's ``.../timers`` beside ``.../flows`` on a loopback host); otherwise this
        raises :class:`ConfigurationError` naming ``flows_base_url=`` and ``flows=``, and no
        request is sent.
        """
        if self._flows is None:
            flows_base_url = self._flows_base_url
            if flows_base_url is None and self._own_base_url:
                flows_base_url = flows_url_for(self.base_url)
            self._flows = FlowsClient(
                authorizer=self.authorizer,
                base_url=flows_base_url,
                environment=self._environment,
                http_client=self._transport.http_client,
                timeout=self._timeout,
                retry=self._retry,
                concurrency=self.concurrency,
                max_response_size=self._transport.max_response_size,
            )
        return self._flows

    async def _json(self, request: ApiRequest) -> tuple[Any, Response]:
        response = await self._transport.send(request)
        return response.json(), response

    async def _timer(self, request: ApiRequest) -> Timer:
        document, response = await self._json(request)
        return timer_from_document(document, text=response.text())

    # -- a timer's runs ------------------------------------------------------------------

    async def _page(
        self, timer_id: str, page_size: int | None, marker: str | None, keep: RunFilter
    ) -> TimerRunPage:
        document, _ = await self._json(rq.timer_page(timer_id, page_size=page_size, marker=marker))
        runs, page_next = parse_results(document, timer_id)
        return TimerRunPage(
            runs=[run for run in runs if keep(run)],
            has_next_page=page_next is not None,
            marker=page_next,
        )

    async def list_runs(
        self,
        timer_id: str,
        *,
        limit: int | None = None,
        marker: str | None = None,
        status: str | Sequence[str] | None = None,
        start_after: datetime | None = None,
        start_before: datetime | None = None,
    ) -> TimerRunPage:
        """One page of the timer's runs (``limit`` results before filtering).

        ``status`` (``"pending"``, ``"in_progress"``, ``"success"``, ``"failure"``) and the
        start-time bounds are applied here, so a page may hold fewer runs than ``limit``.

        Example::

            page = await timers.list_runs(timer_id, limit=20)
            if page.has_next_page:
                page = await timers.list_runs(timer_id, limit=20, marker=page.marker)
        """
        keep = _run_filter(status, start_after, start_before)
        return await self._page(timer_id, limit, marker, keep)

    def iter_runs(
        self,
        timer_id: str,
        *,
        status: str | Sequence[str] | None = None,
        start_after: datetime | None = None,
        start_before: datetime | None = None,
        max_items: int | None = None,
    ) -> MarkerPager[TimerRunPage, TimerRun]:
        """Iterate over the timer's runs, page by page, filtering as it goes.

        Example::

            async for run in timers.iter_runs(timer_id, status="failure", max_items=10):
                print(run.id, run.result.error)
        """
        rq.get_timer(timer_id)  # validates the id now rather than at the first page
        keep = _run_filter(status, start_after, start_before)

        async def fetch(marker: str | None) -> TimerRunPage:
            return await self._page(timer_id, _DEFAULT_PAGE_SIZE, marker, keep)

        return MarkerPager(fetch, _split_page, max_items=max_items)

    async def list_all_runs(
        self,
        timer_id: str,
        *,
        status: str | Sequence[str] | None = None,
        start_after: datetime | None = None,
        start_before: datetime | None = None,
        max_items: int | None = None,
    ) -> list[TimerRun]:
        """Every run of the timer (matching the filters), as a list.

        Example::

            runs = await timers.list_all_runs(timer_id, status=["success", "failure"])
        """
        pager = self.iter_runs(
            timer_id,
            status=status,
            start_after=start_after,
            start_before=start_before,
            max_items=max_items,
        )
        return await pager.collect()

    async def get_run(self, timer_id: str, run_id: str) -> TimerRun:
        """The timer's run whose ``id`` is ``run_id``, searching page by page.

        ``run_id`` is compared with :attr:`TimerRun.id` as the service gives it (a flow run's
        UUID, a transfer task's id...); it is never sent. Raises :class:`TimerNotFoundError`
        when the timer does not exist or the run is not in its history.

        Example::

            run = await timers.get_run(timer_id, flow_run_id)
        """
        if not isinstance(run_id, str) or not run_id:
            raise InvalidIdError("run_id must be a non-empty str")
        async for run in self.iter_runs(timer_id):
            if run.id == run_id:
                return run
        raise TimerNotFoundError(
            404,
            "NOT_FOUND",
            f"run {run_id} is not in the history of timer {timer_id}",
        )

    async def run_timer(self, timer_id: str) -> TimerRun:
        """Start the timer's flow now, with its stored body, tags, managers and monitors.

        Timers has no "run now" operation, so this reads the timer and starts its flow through
        Flows; the new run is not recorded in the timer's history. Only flow timers can be run
        this way: others raise :class:`UnsupportedTimerError`. A client given ``base_url`` whose
        Flows URL cannot be told raises :class:`ConfigurationError` first (see :attr:`flows`).

        Example::

            run = await timers.run_timer(timer_id)
            final = await timers.flows.wait_for_run(run.id)
        """
        flows = self.flows  # a Flows URL that cannot be told fails before any request
        timer = await self.get_timer(timer_id)
        if timer.timer_type != "flow" or timer.flow_id is None:
            raise UnsupportedTimerError(
                f"timer {timer_id} is a {timer.timer_type or 'non-flow'} timer: only flow "
                "timers can be run now"
            )
        callback = timer.callback_body or {}
        body = callback.get("body")
        if not isinstance(body, Mapping):
            raise ResponseParseError(
                f"timer {timer_id} has no flow input in its callback_body", text=str(callback)
            )
        run = await flows.run_flow(
            timer.flow_id,
            body,
            tags=_optional_list(callback.get("tags")),
            run_managers=_optional_list(callback.get("run_managers")),
            run_monitors=_optional_list(callback.get("run_monitors")),
        )
        return TimerRun(
            id=run.run_id,
            timer_id=timer.timer_id,
            status=TimerRunStatus.IN_PROGRESS if not run.is_terminal else _final(run.status),
            start_time=run.start_time,
            end_time=run.completion_time,
            result=RunResult(status=run.status, status_code=201, run_id=run.run_id),
            raw=run.raw,
        )

    # -- the timer lifecycle -------------------------------------------------------------

    async def create_flow_timer(
        self,
        flow_id: str,
        body: Mapping[str, Any],
        *,
        name: str | None = None,
        schedule: Mapping[str, Any],
        run_managers: Sequence[str] | None = None,
        run_monitors: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
    ) -> Timer:
        """Create a timer that starts runs of ``flow_id`` with input ``body`` on ``schedule``.

        ``schedule`` is ``{"type": "once", "datetime"?: ...}`` or ``{"type": "recurring",
        "interval_seconds": >= 60, "start"?: ..., "end"?: ...}``.

        Example::

            timer = await timers.create_flow_timer(
                flow_id, {"src": "/data"}, name="nightly",
                schedule={"type": "recurring", "interval_seconds": 86400},
            )
        """
        request = rq.create_flow_timer(
            flow_id,
            body,
            schedule=schedule,
            name=name,
            run_managers=run_managers,
            run_monitors=run_monitors,
            tags=tags,
        )
        document, response = await self._json(request)
        text = response.text()
        if not isinstance(document, dict) or "timer" not in document:
            raise ResponseParseError("unexpected answer: no 'timer' object", text=text)
        return timer_from_document(document["timer"], text=text)

    async def get_timer(self, timer_id: str) -> Timer:
        """The timer ``timer_id``; raises :class:`TimerNotFoundError` if it does not exist.

        Example::

            timer = await timers.get_timer(timer_id)
            print(timer.status, timer.next_run)
        """
        return await self._timer(rq.get_timer(timer_id))

    async def list_timers(
        self,
        *,
        filter_status: str | Sequence[str] | None = None,
        filter_name: str | None = None,
        order: str | None = None,
        submitted_after: datetime | None = None,
        submitted_before: datetime | None = None,
        result_count: int | None = None,
    ) -> list[Timer]:
        """The caller's timers (the service does not page this listing).

        ``order`` is ``"FIELD"`` or ``"FIELD asc|desc"`` for a field of the timer document
        (``"submitted_at desc"``, ``"name"``; ascending when not said). ``submitted_after``
        and ``submitted_before`` (timezone-aware) bound when the timers were created;
        ``result_count`` limits the runs each timer's ``results`` carries. ``None`` sends
        nothing, and the service applies its defaults.

        Example::

            active = await timers.list_timers(filter_status="active", order="submitted_at desc")
        """
        document, response = await self._json(
            rq.list_timers(
                filter_status=filter_status,
                filter_name=filter_name,
                order=order,
                submitted_after=submitted_after,
                submitted_before=submitted_before,
                result_count=result_count,
            )
        )
        text = response.text()
        jobs = document.get("jobs") if isinstance(document, dict) else None
        if not isinstance(jobs, list):
            raise ResponseParseError("unexpected answer: no 'jobs' list", text=text)
        return [timer_from_document(job, text=text) for job in jobs]

    async def update_timer(self, timer_id: str, *, name: str) -> Timer:
        """Rename a timer.

        Example::

            timer = await timers.update_timer(timer_id, name="nightly (v2)")
        """
        return await self._timer(rq.update_timer(timer_id, name=name))

    async def pause_timer(self, timer_id: str) -> None:
        """Stop a timer from firing until it is resumed.

        Example::

            await timers.pause_timer(timer_id)
        """
        await self._transport.send(rq.pause_timer(timer_id))

    async def resume_timer(self, timer_id: str, *, update_credentials: bool | None = False) -> None:
        """Let a paused timer fire again.

        ``update_credentials=True`` replaces the timer's stored credentials with this call's
        (to resolve a consent or session requirement); ``False`` (the default) keeps them and
        says so to the service. ``None`` sends neither, so the service decides from why the
        timer became inactive.

        Example::

            await timers.resume_timer(timer_id, update_credentials=True)
        """
        await self._transport.send(rq.resume_timer(timer_id, update_credentials=update_credentials))

    async def delete_timer(self, timer_id: str) -> Timer:
        """Delete a timer; returns it as the service reports it (``delete_in_progress``).

        Example::

            await timers.delete_timer(timer_id)
        """
        return await self._timer(rq.delete_timer(timer_id))


def _split_page(page: TimerRunPage) -> tuple[list[TimerRun], bool, str | None]:
    return page.runs, page.has_next_page, page.marker


def _optional_list(value: Any) -> list[str] | None:
    if isinstance(value, Iterable) and not isinstance(value, str | Mapping):
        return [str(item) for item in value]
    return None


def _final(status: str) -> str:
    return TimerRunStatus.SUCCESS if status == "SUCCEEDED" else TimerRunStatus.FAILURE
