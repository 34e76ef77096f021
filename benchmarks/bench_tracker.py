"""The wait engine: requests per poll, memory, relisting and event-loop stalls.

A small in-memory Flows service (an ``httpx.MockTransport``) holds N runs of 4 flows, each
ending at a random time within an emulated hour, with production-shaped documents. Its
clock moves 30 emulated seconds at each poll (each first page of a listing), so that every
waiter sees the same service whatever the machine's speed; the waits' backoff is capped at
a few milliseconds of real time. Cases:

- ``tracked``: for 1,000 / 10,000 / 100,000 runs, the requests per poll, how many times each
  ended run was listed on average, and the peak of traced memory while waiting (the ``Run``
  objects given are made before tracing starts): the previous ``wait_for_runs`` ("before",
  loaded from git, ``--before-ref``), ``wait_for_runs`` now ("listed") and ``as_completed``
  whose results are dropped ("streamed");
- ``independent``: 1,000 concurrent ``wait_for_run`` calls against one ``wait_for_runs``;
- ``register``: the worst gap of a 1 ms ticker task while ``wait_for_runs`` is given
  100,000 ``Run`` objects, all ended already (registering them is the whole wait), or all
  ``ACTIVE`` and answered ended by one listing page (registering, then handing them over):
  by another copy of the package (``--compare-package``) and now;
- ``stall``: the worst gap of a 1 ms ticker task while one 100,000-run page, and one 31 MiB
  response, are decoded and converted, then while the page is dropped, and the longest
  garbage collection meanwhile: all on the event loop (the first way), by the ``list_runs``
  of another copy of the package (``--compare-package``, say the main branch's) and now.

Run: ``python -m benchmarks.bench_tracker [--sizes 1000 10000 100000]``; the stall case
against another copy: ``PYTHONPATH=DIR python -m benchmarks.bench_tracker --cases stall
--compare-package NAME`` (``DIR/NAME`` a copy of ``globus_runs`` from git).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import importlib.util
import itertools
import json
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import anyio
import httpx

from globus_runs import FlowsClient, RetryPolicy, Run, RunPage
from globus_runs._converter import structure
from globus_runs._http.attempts import Response
from globus_runs.flows import _requests as rq
from globus_runs.flows import _waiting

from ._common import ROOT, run_document, run_id

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STEP = timedelta(seconds=30)  # emulated time per poll
HOUR = 3600.0
TERMINAL = {"SUCCEEDED", "FAILED", "ENDED"}


class Service:
    """``GET /runs`` (flow, status and completion filters, newest completion first, marker
    paging) and ``GET /runs/{id}`` over runs ending at known times."""

    def __init__(self, n: int, seed: int = 7) -> None:
        rng = random.Random(seed)
        template = run_document()
        self.flows = [f"00000000-0000-4000-9000-{i:012d}" for i in range(4)]
        self.now = START
        self.docs: dict[str, dict[str, Any]] = {}
        self.ends: dict[str, datetime] = {}
        for i in range(n):
            rid = run_id(i)
            doc = copy.deepcopy(template)
            doc.update(
                run_id=rid,
                action_id=rid,
                flow_id=self.flows[i % 4],
                start_time=START.isoformat(),
                status="ACTIVE",
                completion_time=None,
            )
            self.docs[rid] = doc
            self.ends[rid] = START + timedelta(seconds=rng.uniform(60.0, HOUR))
        # Completion order, newest first, for the listings.
        self.by_end = sorted(self.ends, key=lambda r: self.ends[r], reverse=True)
        self.requests = 0
        self.polls = 0
        self.listed: dict[str, int] = {}

    def view(self, rid: str) -> dict[str, Any]:
        doc = self.docs[rid]
        end = self.ends[rid]
        if end <= self.now:
            return {**doc, "status": "SUCCEEDED", "completion_time": end.isoformat()}
        return doc

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        path = request.url.path
        params = dict(request.url.params)
        if path.startswith("/runs/"):
            rid = path.rsplit("/", 1)[1]
            if rid not in self.docs:
                return httpx.Response(404, json={"code": "NOT_FOUND", "error": "no such run"})
            return httpx.Response(200, json=self.view(rid))
        if "marker" in params:
            query = json.loads(params["marker"])
        else:
            self.polls += 1
            self.now += STEP
            query = {
                "flows": params.get("filter_flow_id", "").split(","),
                "statuses": params.get("filter_status", "").split(","),
                "since": params.get("filter_completion_time", ",").split(",")[0],
                "per_page": int(params.get("per_page", 50)),
                "offset": 0,
                "now": self.now.isoformat(),
            }
        now = datetime.fromisoformat(query["now"])
        since = datetime.fromisoformat(query["since"]) if query["since"] else None
        flows, statuses = set(query["flows"]), set(query["statuses"])
        matching: list[str] = []
        if statuses & TERMINAL:
            for rid in self.by_end:
                end = self.ends[rid]
                if end > now:
                    continue
                if since is not None and end < since:
                    break
                if self.docs[rid]["flow_id"] in flows:
                    matching.append(rid)
        offset, per_page = query["offset"], query["per_page"]
        page = matching[offset : offset + per_page]
        for rid in page:
            self.listed[rid] = self.listed.get(rid, 0) + 1
        more = offset + per_page < len(matching)
        marker = json.dumps({**query, "offset": offset + per_page}) if more else None
        body = {"runs": [self.view(rid) for rid in page], "has_next_page": more, "marker": marker}
        return httpx.Response(200, json=body)


def client(service: Service) -> FlowsClient:
    return FlowsClient(
        authorizer="bench",
        base_url="http://127.0.0.1:9",
        transport=httpx.MockTransport(service.handle),
        retry=RetryPolicy(max_retries=0),
    )


def previous_waiting(ref: str) -> ModuleType | None:
    """``globus_runs.flows._waiting`` as of ``ref`` (the wait before the tracker)."""
    try:
        source = subprocess.run(
            ["git", "show", f"{ref}:globus_runs/flows/_waiting.py"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    spec = importlib.util.spec_from_loader("globus_runs.flows._waiting_before", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "globus_runs.flows"
    sys.modules[spec.name] = module
    exec(compile(source, "_waiting_before.py", "exec"), module.__dict__)
    return module


def quick_backoff(*modules: ModuleType | None) -> None:
    """Polls a few milliseconds apart: the service's clock, not real time, drives the runs."""
    for module in modules:
        if module is not None:
            module.MAX_POLL_INTERVAL = 0.002  # type: ignore[attr-defined]


def runs_of(service: Service) -> list[Run]:
    return [structure(service.docs[rid], Run) for rid in service.docs]


async def measure(
    service: Service, wait: Callable[[FlowsClient, list[Run]], Awaitable[None]]
) -> dict[str, Any]:
    runs = runs_of(service)
    async with client(service) as flows:
        tracemalloc.start()
        started = time.perf_counter()
        await wait(flows, runs)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    listed = sum(service.listed.values())
    return {
        "requests": service.requests,
        "polls": service.polls,
        "requests_per_poll": round(service.requests / max(service.polls, 1), 2),
        "listed_per_ended_run": round(listed / len(service.docs), 2),
        "peak_traced_mb": round(peak / 2**20, 1),
        "bytes_per_run": round(peak / len(service.docs)),
        "seconds": round(seconds, 2),
    }


async def tracked(
    sizes: list[int], before: ModuleType | None, before_max: int
) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        row: dict[str, Any] = {"runs": n}
        if before is not None and n <= before_max:

            async def old(flows: FlowsClient, runs: list[Run]) -> None:
                done = await before.wait_for_runs(flows, runs, poll_interval=0.001, timeout=None)
                assert all(r.is_terminal for r in done)

            row["before"] = await measure(Service(n), old)

        async def listed(flows: FlowsClient, runs: list[Run]) -> None:
            done = await flows.wait_for_runs(runs, poll_interval=0.001)
            assert all(r.is_terminal for r in done)

        async def streamed(flows: FlowsClient, runs: list[Run]) -> None:
            ended = 0
            async with flows.as_completed(runs, poll_interval=0.001) as completions:
                async for result in completions:
                    ended += result.ok  # the driver keeps nothing of a result
            assert ended == len(runs)

        row["listed"] = await measure(Service(n), listed)
        row["streamed"] = await measure(Service(n), streamed)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


async def independent(n: int = 1000) -> dict[str, Any]:
    async def together(flows: FlowsClient, runs: list[Run]) -> None:
        await flows.wait_for_runs([run.run_id for run in runs], poll_interval=0.001)

    async def apart(flows: FlowsClient, runs: list[Run]) -> None:
        ids = [run.run_id for run in runs]

        async def one(run_id_: str) -> None:
            await flows.wait_for_run(run_id_, poll_interval=0.001)

        async with anyio.create_task_group() as group:
            for run_id_ in ids:
                group.start_soon(one, run_id_)

    one = await measure(Service(n), together)
    many = await measure(Service(n), apart)
    return {
        "runs": n,
        "one_wait_for_runs": one,
        "independent_wait_for_run": many,
        "ratio_requests": round(many["requests"] / max(one["requests"], 1), 2),
    }


class _Collections:
    """The garbage collector's collections, (start, end) in ``time.perf_counter`` seconds."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.spans.append((self._started, time.perf_counter()))

    def longest(self, since: float, until: float) -> float:
        spans = [b - a for a, b in self.spans if b > since and a < until]
        return round(max(spans, default=0.0) * 1000, 1)


async def worst_stalls(work: Callable[[], Awaitable[object]]) -> dict[str, float]:
    """The longest gaps, in ms, between the ticks of a 1 ms ticker while ``work`` runs
    (``convert``), and then while what it returned is dropped on the event loop's thread
    (``drop``); and the longest collection of the garbage collector while ``work`` ran
    (``gc``), whatever thread it ran in."""
    gc.collect()  # what an earlier case left is not this one's to collect
    ticks: list[float] = []
    done = False
    collections = _Collections()

    async def ticker() -> None:
        while not done:
            ticks.append(time.perf_counter())
            await anyio.sleep(0.001)

    gc.callbacks.append(collections)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(ticker)
            await anyio.sleep(0.02)
            started = time.perf_counter()
            kept = [await work()]
            worked = time.perf_counter()
            await anyio.sleep(0.02)
            dropping = time.perf_counter()
            kept.clear()
            dropped = time.perf_counter()
            await anyio.sleep(0.02)
            done = True
    finally:
        gc.callbacks.remove(collections)

    def worst(since: float, until: float) -> float:
        gaps = [b - a for a, b in itertools.pairwise(ticks) if b > since and a < until]
        return round(max(gaps, default=0.0) * 1000, 1)

    return {
        "convert": worst(started, worked),
        "drop": worst(dropping, dropped),
        "gc": collections.longest(started, worked),
    }


def big_page(n: int) -> bytes:
    """One listing page of ``n`` ended runs (documents of the fields a listing shows)."""
    template = run_document()
    keep = "flow_id flow_title status display_status label tags start_time completion_time"
    keep += " run_owner user_role"
    runs = []
    for i in range(n):
        doc = {key: template[key] for key in keep.split() if key in template}
        doc["run_id"] = run_id(i)
        runs.append(doc)
    return json.dumps({"runs": runs, "has_next_page": False, "marker": None}).encode()


def padded_page(size: int) -> bytes:
    """A page of a few runs whose details weigh ``size`` bytes in all."""
    template = run_document()
    runs = []
    for i in range(8):
        doc = dict(template)
        doc["run_id"] = run_id(i)
        doc["details"] = {"output": {"blob": ["x" * 1000] * (size // 8 // 1006)}}
        runs.append(doc)
    return json.dumps({"runs": runs, "has_next_page": False, "marker": None}).encode()


async def stall(compare: str | None, rounds: int) -> dict[str, Any]:
    """Worst stalls of each way of reading one large page, ``rounds`` times each in turn:
    all on the event loop (``on_loop``), ``list_runs`` of the package named ``compare``
    (``before``: another copy of the package, say the main branch's) and ``list_runs`` now
    (``after``); medians and maxima over the rounds."""
    other = importlib.import_module(compare) if compare else None
    out: dict[str, Any] = {}
    for name, body in (
        ("page_100000_runs", big_page(100_000)),
        ("answer_31_mib", padded_page(31 * 2**20)),
    ):
        served = httpx.MockTransport(lambda request, body=body: httpx.Response(200, content=body))
        options: dict[str, Any] = {
            "authorizer": "bench",
            "base_url": "http://127.0.0.1:9",
            "transport": served,
            "max_response_size": 64 * 2**20,
        }
        async with contextlib.AsyncExitStack() as stack:
            flows = await stack.enter_async_context(FlowsClient(**options))
            response = await flows._transport.send(rq.list_runs())

            async def on_loop(response: Response = response, flows: FlowsClient = flows) -> object:
                return flows._read(response, RunPage)

            ways: dict[str, Callable[[], Awaitable[object]]] = {"on_loop": on_loop}
            if other is not None:
                ways["before"] = (
                    await stack.enter_async_context(other.FlowsClient(**options))
                ).list_runs
            ways["after"] = flows.list_runs
            measured: dict[str, list[dict[str, float]]] = {way: [] for way in ways}
            for number in range(rounds):
                for way in ways:
                    if way == "on_loop" and number:
                        continue  # seconds each time: once is enough
                    measured[way].append(await worst_stalls(ways[way]))
        row: dict[str, Any] = {"bytes": len(body)}
        for way, figures in measured.items():
            for figure in ("convert", "drop", "gc"):
                values = [one[figure] for one in figures]
                row[f"{way}_{figure}_ms"] = {
                    "median": statistics.median(values),
                    "max": max(values),
                }
        out[name] = row
        print(json.dumps({name: row}), file=sys.stderr)
    return out


async def registration(compare: str | None, rounds: int, n: int = 100_000) -> dict[str, Any]:
    """Worst stalls of ``wait_for_runs`` given ``n`` ``Run`` objects: all already ended
    (``ended``: registering them is the whole wait, no request), and all ``ACTIVE`` and
    answered ended by one listing page of ``n`` runs (``listed``: registering them, then
    handing each over); the package named ``compare`` ("before") against now ("after")."""
    other = importlib.import_module(compare) if compare else None
    page = json.loads(big_page(n))
    for doc in page["runs"]:
        doc["status"] = "SUCCEEDED"
    body = json.dumps(page).encode()
    flow_id = page["runs"][0]["flow_id"]
    started = page["runs"][0]["start_time"]
    ids = [doc["run_id"] for doc in page["runs"]]
    del page  # what the harness keeps alive, the garbage collector walks in every case

    def given(status: str) -> list[dict[str, Any]]:
        return [
            {"run_id": rid, "flow_id": flow_id, "status": status, "start_time": started}
            for rid in ids
        ]

    served = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    options: dict[str, Any] = {
        "authorizer": "bench",
        "base_url": "http://127.0.0.1:9",
        "transport": served,
        "max_response_size": 64 * 2**20,
    }
    packages: dict[str, Any] = {"after": sys.modules["globus_runs"]}
    if other is not None:
        packages = {"before": other, **packages}
    out: dict[str, Any] = {}
    for case, status in (("ended", "SUCCEEDED"), ("listed", "ACTIVE")):
        measured: dict[str, list[dict[str, float]]] = {way: [] for way in packages}
        for _ in range(rounds):
            for way, package in packages.items():
                converter = importlib.import_module(package.__name__ + "._converter")
                runs = [converter.structure(doc, package.Run) for doc in given(status)]
                async with package.FlowsClient(**options) as flows:

                    async def wait(flows: Any = flows, runs: list[Any] = runs) -> object:
                        return await flows.wait_for_runs(runs, poll_interval=0.01, timeout=600)

                    measured[way].append(await worst_stalls(wait))
                del runs
        out[case] = {
            f"{way}_{figure}_ms": {
                "median": statistics.median(one[figure] for one in values),
                "max": max(one[figure] for one in values),
            }
            for way, values in measured.items()
            for figure in ("convert", "gc")
        }
        print(json.dumps({f"register_{case}_{n}": out[case]}), file=sys.stderr)
    return out


async def main(
    sizes: list[int],
    before_ref: str,
    before_max: int,
    cases: list[str],
    compare: str | None = None,
    rounds: int = 3,
) -> dict[str, Any]:
    before = previous_waiting(before_ref)
    quick_backoff(_waiting, before)
    out: dict[str, Any] = {}
    if "stall" in cases:
        out["stall"] = await stall(compare, rounds)
    if "register" in cases:
        out["register"] = await registration(compare, rounds)
    if "independent" in cases:
        out["independent"] = await independent()
    if "tracked" in cases:
        out["tracked"] = await tracked(sizes, before, before_max)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--before-ref", default="ed82f14")
    parser.add_argument(
        "--before-max", type=int, default=10000, help="measure 'before' up to this many runs"
    )
    parser.add_argument("--cases", nargs="+", default=["stall", "independent", "tracked"])
    parser.add_argument(
        "--compare-package",
        help="another importable copy of the package, whose list_runs is 'before' in 'stall'",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the 'stall' case")
    args = parser.parse_args()
    result = anyio.run(
        main,
        args.sizes,
        args.before_ref,
        args.before_max,
        args.cases,
        args.compare_package,
        args.rounds,
    )
    print(json.dumps(result, indent=2))
