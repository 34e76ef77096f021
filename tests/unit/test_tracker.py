"""One tracker per client: coalesced waits, deleted runs, runs as they end, cancellation.

The emulator's clock is manual here: runs end only when a test moves it, and a test that
needs a run to end unseen holds the waiting client's requests at a gate meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from globus_runs import (
    FlowsClient,
    ResponseParseError,
    RetryPolicy,
    Run,
    RunNotFoundError,
    RunsNotFoundError,
    RunStatus,
    RunStatusEvent,
    WaitTimeoutError,
)
from globus_runs._converter import structure
from globus_runs.flows import _tracker
from globus_runs.flows._tracker import tracker_of
from globus_runs.testing import FakeClock, FakeGlobus

from ..conftest import START

pytestmark = pytest.mark.anyio

POLL = 0.01
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


@pytest.fixture
def clock() -> FakeClock:
    """The emulator's manual clock."""
    return FakeClock(START)


@pytest.fixture
async def flows(fake: FakeGlobus) -> AsyncIterator[FlowsClient]:
    """A client on the emulator with quick retries."""
    retry = RetryPolicy(backoff_initial=0.001, backoff_max=0.005)
    async with fake.flows_client(retry=retry, concurrency=8) as client:
        yield client


@pytest.fixture
def confirm_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run unseen for MISSING_POLLS polls is confirmed without waiting a minute as well."""
    monkeypatch.setattr(_tracker, "MISSING_AFTER", 0.0)


class Gate:
    """An ASGI wrapper holding every request while it is closed (thread-safe: over loopback
    the emulator's server runs on an event loop of its own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._open = threading.Event()
        self._open.set()

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        while not self._open.is_set():  # noqa: ASYNC110
            await anyio.sleep(0.001)
        await self.app(scope, receive, send)


@pytest.fixture
async def gated(fake: FakeGlobus) -> AsyncIterator[tuple[FlowsClient, Gate]]:
    gate = Gate(fake.app)
    async with fake.flows_client(app=gate) as flows:
        yield flows, gate


async def until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(30):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(POLL)


def listings(fake: FakeGlobus) -> int:
    """The polls that listed runs: first pages of GET /runs."""
    return sum(1 for r in fake.requests if r.path == "/runs" and "marker" not in r.params)


async def end_unseen(
    fake: FakeGlobus, gate: Gate, run_ids: list[str], deleted: list[str], seconds: float
) -> None:
    """Hold the waiting client, let ``seconds`` pass and release ``deleted`` (through another
    client): the waits never see those runs ended."""
    gate.close()
    fake.clock.advance(seconds)
    async with fake.flows_client() as other:
        for run_id in deleted:
            await other.release_run(run_id)
    gate.open()


# -- coalescing ---------------------------------------------------------------------------


async def wait_and_count(
    fake: FakeGlobus, wait: Callable[[list[str]], Awaitable[list[Run]]], run_ids: list[str]
) -> tuple[list[Run], int, int, int]:
    """Wait for ``run_ids`` (ACTIVE) with ``wait``; after three listings, end them all.

    Returns the runs, the GETs of single runs, the list requests and the polls that listed.
    """
    fake.clear_requests()
    finished: list[Run] = []

    async def waiting() -> None:
        finished.extend(await wait(run_ids))

    async with anyio.create_task_group() as group:
        group.start_soon(waiting)
        await until(lambda: listings(fake) >= 3)
        fake.clock.advance(1_000)
    gets = sum(1 for r in fake.requests if r.path.startswith("/runs/"))
    lists = sum(1 for r in fake.requests if r.path == "/runs")
    return finished, gets, lists, listings(fake)


async def test_a_thousand_waits_cost_about_what_one_wait_for_runs_costs(
    fake: FakeGlobus, flows: FlowsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # However slow the machine, no run is confirmed with a GET here: only the look-ups count.
    monkeypatch.setattr(_tracker, "MISSING_AFTER", 1e9)
    flow_id = fake.add_flow(duration=500.0)
    many = fake.add_runs(flow_id, 1_000)

    async def all_at_once(run_ids: list[str]) -> list[Run]:
        return await flows.wait_for_runs(run_ids, poll_interval=POLL, timeout=60)

    async def one_by_one(run_ids: list[str]) -> list[Run]:
        results: dict[str, Run] = {}

        async def one(run_id: str) -> None:
            results[run_id] = await flows.wait_for_run(run_id, poll_interval=POLL, timeout=60)

        async with anyio.create_task_group() as group:
            for run_id in run_ids:
                group.start_soon(one, run_id)
        return [results[run_id] for run_id in run_ids]

    runs, gets, lists, polls = await wait_and_count(fake, all_at_once, many)
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 1_000
    single = fake.add_runs(flow_id, 1_000)  # started now: after the others ended
    runs_1, gets_1, lists_1, polls_1 = await wait_and_count(fake, one_by_one, single)
    assert [r.status for r in runs_1] == [RunStatus.SUCCEEDED] * 1_000
    assert [r.run_id for r in runs_1] == single
    # Each id is looked up once either way; then list queries only, about as many per poll:
    # one per poll while the runs are ACTIVE, then the pages of the 1,000 that ended.
    assert gets == gets_1 == 1_000
    per_poll, per_poll_1 = lists / polls, lists_1 / polls_1
    assert per_poll_1 <= 2 * per_poll
    assert len(tracker_of(flows)) == 0


async def test_cancelling_one_waiter_leaves_the_others_waiting(
    fake: FakeGlobus, gated: tuple[FlowsClient, Gate]
) -> None:
    flows, gate = gated
    flow_id = fake.add_flow(duration=100.0)
    a, b, c = fake.add_runs(flow_id, 3)
    done: dict[str, Run] = {}
    cancelled = anyio.CancelScope()

    async def wait(run_id: str) -> None:
        done[run_id] = await flows.wait_for_run(run_id, poll_interval=POLL, timeout=60)

    async def wait_cancelled() -> None:
        with cancelled:
            await flows.wait_for_run(a, poll_interval=POLL, timeout=60)

    async with anyio.create_task_group() as group:
        group.start_soon(wait_cancelled)
        group.start_soon(wait, b)
        group.start_soon(wait, c)
        await until(lambda: listings(fake) >= 1)
        # Cancel one while the next poll is held, whoever is making it.
        gate.close()
        await until(lambda: len(tracker_of(flows)) == 3)
        cancelled.cancel()
        await until(lambda: a not in tracker_of(flows))
        fake.clock.advance(200)
        gate.open()
    assert cancelled.cancelled_caught
    assert set(done) == {b, c}
    assert {run.status for run in done.values()} == {RunStatus.SUCCEEDED}
    assert len(tracker_of(flows)) == 0


async def test_each_waiter_keeps_its_own_timeout(fake: FakeGlobus, flows: FlowsClient) -> None:
    flow_id = fake.add_flow(duration=100.0)
    short, long = fake.add_runs(flow_id, 2)
    outcome: dict[str, Any] = {}

    async def wait_short() -> None:
        try:
            await flows.wait_for_run(short, poll_interval=POLL, timeout=0.05)
        except WaitTimeoutError as exc:
            outcome["short"] = exc

    async def wait_long() -> None:
        outcome["long"] = await flows.wait_for_runs([long], poll_interval=POLL, timeout=60)

    async with anyio.create_task_group() as group:
        group.start_soon(wait_short)
        group.start_soon(wait_long)
        await until(lambda: "short" in outcome)
        fake.clock.advance(200)
    assert outcome["short"].last_run.status == RunStatus.ACTIVE
    assert [r.status for r in outcome["long"]] == [RunStatus.SUCCEEDED]


async def test_clients_on_one_shared_pool_and_token_share_a_tracker() -> None:
    async with httpx.AsyncClient() as shared:
        first = FlowsClient(authorizer="token-a", http_client=shared)
        second = FlowsClient(authorizer="token-a", http_client=shared)
        other = FlowsClient(authorizer="token-b", http_client=shared)
        alone = FlowsClient(authorizer="token-a")
        try:
            assert tracker_of(first) is tracker_of(second)
            assert tracker_of(first) is not tracker_of(other)
            assert tracker_of(alone) is not tracker_of(first)
            assert tracker_of(alone) is tracker_of(alone)
        finally:
            for client in (first, second, other, alone):
                await client.aclose()


async def test_waits_of_per_request_clients_on_a_shared_pool_are_coalesced(
    fake: FakeGlobus,
) -> None:
    flow_id = fake.add_flow(duration=100.0)
    run_ids = fake.add_runs(flow_id, 20)
    async with fake.flows_client() as owner:
        # Clients made per request (as a FastAPI handler would) on the owner's pool.
        shared = owner._transport.http_client
        base_url = owner.base_url

        async def handler(run_id: str) -> Run:
            async with FlowsClient(
                authorizer=fake.token, base_url=base_url, http_client=shared
            ) as flows:
                return await flows.wait_for_run(run_id, poll_interval=POLL, timeout=60)

        results: list[Run] = []

        async def one(run_id: str) -> None:
            results.append(await handler(run_id))

        async with anyio.create_task_group() as group:
            for run_id in run_ids:
                group.start_soon(one, run_id)
            await until(lambda: listings(fake) >= 2)
            fake.clock.advance(200)
    assert sorted(r.run_id for r in results) == sorted(run_ids)
    # One tracker for all twenty handlers: one list query per poll, not twenty.
    first_pages = [r for r in fake.requests if r.path == "/runs" and "marker" not in r.params]
    flows_seen = {r.params["filter_flow_id"] for r in first_pages}
    assert flows_seen == {flow_id}
    assert sum(1 for r in fake.requests if r.path.startswith("/runs/")) == 20


# -- deleted runs -------------------------------------------------------------------------


async def test_a_run_deleted_while_waited_for_ends_wait_for_run(
    fake: FakeGlobus, gated: tuple[FlowsClient, Gate]
) -> None:
    flows, gate = gated
    flow_id = fake.add_flow(duration=100.0)
    [run_id] = fake.add_runs(flow_id, 1)
    raised: list[Exception] = []

    async def wait() -> None:
        try:
            await flows.wait_for_run(run_id, poll_interval=POLL, timeout=60)
        except RunNotFoundError as exc:
            raised.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(wait)
        await until(lambda: len(fake.requests) >= 2)
        await end_unseen(fake, gate, [run_id], [run_id], 200)
    assert len(raised) == 1
    assert len(tracker_of(flows)) == 0


@pytest.mark.parametrize("given", ["ids", "runs"])
@pytest.mark.usefixtures("confirm_at_once")
async def test_a_run_deleted_while_waited_for_ends_only_its_own_wait_in_wait_for_runs(
    fake: FakeGlobus, gated: tuple[FlowsClient, Gate], given: str
) -> None:
    flows, gate = gated
    flow_id = fake.add_flow(duration=100.0)
    run_ids = fake.add_runs(flow_id, 4)
    deleted = run_ids[1]
    items: list[str | Run] = list(run_ids)
    if given == "runs":
        items = [structure(fake.get_run_document(run_id), Run) for run_id in run_ids]
    raised: list[RunsNotFoundError] = []

    async def wait() -> None:
        try:
            await flows.wait_for_runs(items, poll_interval=POLL, timeout=60)
        except RunsNotFoundError as exc:
            raised.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(wait)
        await until(lambda: listings(fake) >= 1)
        await end_unseen(fake, gate, run_ids, [deleted], 200)
    [error] = raised
    assert isinstance(error, RunNotFoundError)
    assert error.missing == [deleted]
    assert [r.index for r in error.results] == [0, 1, 2, 3]
    assert [r.input for r in error.results] == run_ids
    assert isinstance(error.results[1].error, RunNotFoundError)
    assert [r.value.status for r in error.results if r.value is not None] == ["SUCCEEDED"] * 3
    # The deleted run was confirmed with one GET after the list queries stopped showing it.
    gets = [r for r in fake.requests if r.path == f"/runs/{deleted}"]
    assert [r.status_code for r in gets][-1] == 404


async def test_a_run_deleted_while_watched_ends_the_watch(
    fake: FakeGlobus, gated: tuple[FlowsClient, Gate]
) -> None:
    flows, gate = gated
    flow_id = fake.add_flow(duration=100.0)
    [run_id] = fake.add_runs(flow_id, 1)
    statuses: list[str] = []
    with pytest.raises(RunNotFoundError):
        async for event in flows.watch_run(run_id, poll_interval=POLL, include_logs=False):
            assert isinstance(event, RunStatusEvent)
            statuses.append(event.status)
            await end_unseen(fake, gate, [run_id], [run_id], 200)
    assert statuses == [RunStatus.ACTIVE]
    assert len(tracker_of(flows)) == 0


# -- runs as they end ---------------------------------------------------------------------


async def test_as_completed_yields_each_run_as_it_ends(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=100.0)
    run_ids = fake.add_runs(flow_id, 3, duration=[300.0, 100.0, 200.0])
    order: list[int] = []
    fake.clock.advance(100)
    async with flows.as_completed(run_ids, poll_interval=POLL, timeout=60) as ended:
        async for result in ended:
            assert result.ok
            assert result.value is not None
            assert result.value.run_id == result.input == run_ids[result.index]
            assert result.value.status == RunStatus.SUCCEEDED
            order.append(result.index)
            fake.clock.advance(100)  # the next run ends
    assert order == [1, 2, 0]
    assert len(tracker_of(flows)) == 0


async def test_as_completed_left_early_stops_tracking(fake: FakeGlobus, flows: FlowsClient) -> None:
    flow_id = fake.add_flow(duration=100.0)
    run_ids = fake.add_runs(flow_id, 3, duration=[100.0, 1e9, 1e9])
    fake.clock.advance(150)
    async with flows.as_completed(run_ids, poll_interval=POLL) as ended:
        async for result in ended:
            assert result.index == 0
            break
        assert len(tracker_of(flows)) == 2
    assert len(tracker_of(flows)) == 0


async def test_each_waiter_keeps_its_own_inactive_policy(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=100.0, inactive_after=2.0)
    [run_id] = fake.add_runs(flow_id, 1)
    outcome: dict[str, Any] = {}

    async def returning() -> None:
        outcome["return"] = await flows.wait_for_run(
            run_id, poll_interval=POLL, on_inactive="return", timeout=60
        )

    async def waiting() -> None:
        outcome["wait"] = await flows.wait_for_runs([run_id], poll_interval=POLL, timeout=60)

    async with anyio.create_task_group() as group:
        group.start_soon(waiting)
        group.start_soon(returning)
        await until(lambda: len(fake.requests) >= 2)
        fake.clock.advance(10)  # the run pauses: one wait returns it, the other waits on
        await until(lambda: "return" in outcome)
        assert "wait" not in outcome
        await flows.resume_run(run_id)
        fake.clock.advance(200)
    assert outcome["return"].status == RunStatus.INACTIVE
    assert [run.status for run in outcome["wait"]] == [RunStatus.SUCCEEDED]


# -- the time running out, registration, malformed pages ---------------------------------


async def test_the_timeout_says_how_many_runs_of_how_many_did_not_finish(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=100.0)
    run_ids = fake.add_runs(flow_id, 5, duration=[100.0, 100.0, 1e9, 1e9, 1e9])
    fake.clock.advance(150)
    # Given as runs read beforehand: the ended ones end the wait for them at once, however
    # slow the machine, and the others are known ACTIVE.
    runs = [await flows.get_run(run_id) for run_id in run_ids]
    with pytest.raises(WaitTimeoutError) as raised:
        await flows.wait_for_runs(runs, poll_interval=POLL, timeout=0.5)
    assert str(raised.value) == "3 of 5 runs did not finish within 0.5 s"
    assert [run.status for run in raised.value.last_runs] == ["SUCCEEDED"] * 2 + ["ACTIVE"] * 3


def _ended_as_time_runs_out(monkeypatch: pytest.MonkeyPatch, run: Run) -> None:
    """Each waiter's next news is ``run`` ended, after which the time runs out before the
    waiter is back: its deadline passes while it is still inside the wait."""

    delivered: set[int] = set()

    async def news(waiter: _tracker.Waiter) -> None:
        if id(waiter) not in delivered:
            delivered.add(id(waiter))
            waiter.finished(run.run_id, 0, run, None)
        await anyio.sleep_forever()

    monkeypatch.setattr(_tracker.Waiter, "next_news", news)


async def test_a_run_ending_as_the_time_runs_out_is_returned_by_wait_for_run(
    fake: FakeGlobus, flows: FlowsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    [run_id] = fake.add_runs(fake.add_flow(duration=1.0), 1)
    ended = structure({"run_id": run_id, "flow_id": "f", "status": "SUCCEEDED"}, Run)
    _ended_as_time_runs_out(monkeypatch, ended)
    assert await flows.wait_for_run(run_id, poll_interval=POLL, timeout=0.05) == ended


async def test_a_run_ending_as_the_time_runs_out_is_given_before_the_timeout(
    fake: FakeGlobus, flows: FlowsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_ids = fake.add_runs(fake.add_flow(duration=1.0), 2)
    ended = structure({"run_id": run_ids[0], "flow_id": "f", "status": "SUCCEEDED"}, Run)
    _ended_as_time_runs_out(monkeypatch, ended)
    async with flows.as_completed(run_ids, poll_interval=POLL, timeout=0.05) as completions:
        first = await completions.__anext__()
        assert (first.index, first.value) == (0, ended)
        with pytest.raises(WaitTimeoutError, match=r"of 2 runs did not finish within 0\.05 s"):
            await completions.__anext__()


async def test_registering_many_runs_lets_other_tasks_run_between_chunks(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=100.0)
    runs = [
        structure(
            {
                "run_id": f"{i:08d}-0000-4000-8000-000000000000",
                "flow_id": flow_id,
                "status": "SUCCEEDED",
            },
            Run,
        )
        for i in range(5 * _tracker._CHUNK)
    ]
    ticks = 0
    finished = False

    async def ticker() -> None:
        nonlocal ticks
        while not finished:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        await anyio.lowlevel.checkpoint()
        before = ticks
        # Every run given has ended: registering them is the whole wait, with no request.
        done = await flows.wait_for_runs(runs, poll_interval=POLL, timeout=60)
        finished = True
    assert done == runs
    assert ticks - before >= 4  # the ticker ran between the chunks
    assert fake.requests == []


@pytest.mark.parametrize(
    "page",
    [
        {"runs": [{"run_id": 5}], "has_next_page": False},
        {"runs": ["junk"], "has_next_page": False},
        {"runs": [None], "has_next_page": False},
        {"runs": [], "has_next_page": True, "marker": 7},
        {"runs": [], "has_next_page": True},
    ],
)
async def test_a_listing_page_the_service_would_not_write_ends_the_wait_typed(
    page: dict[str, Any],
) -> None:
    run_id = "00000000-0000-4000-8000-000000000001"
    ran = {"run_id": run_id, "flow_id": "f", "status": "ACTIVE", "start_time": START.isoformat()}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/runs":
            return httpx.Response(200, json=page)
        return httpx.Response(200, json=ran)

    transport = httpx.MockTransport(answer)
    async with FlowsClient(
        authorizer="t", base_url="http://127.0.0.1:9", transport=transport
    ) as flows:
        with pytest.raises(ResponseParseError, match="unexpected RunPage document"):
            await flows.wait_for_runs([run_id], poll_interval=POLL, timeout=60)
