"""The emulator at scale: memory of a served emulator, and listing runs over a campaign.

Memory: ``python -m globus_runs.testing serve`` in a subprocess; its resident set size
(``VmRSS`` in ``/proc/PID/status``, and the peak ``VmHWM``) is read at startup, after 20,000
small requests over a pooled connection, and after four 64 MiB bodies (refused with 413 above
the body limit, so nothing of them is kept).

Listing: ``GET /runs`` pages (20 runs; newest first, and in every order ``orderby`` takes,
first and 50th page; orders of several fields whose first field ties for many runs) over a
campaign of 100,000 runs, as the Flows service computes them (``FlowsState.list_runs``,
without the HTTP layer): the indexed listing (median of the rounds, at most 21 and at least
3, fewer once a case has taken 5 s; and the first round, which also builds the page's run
logs) against the unindexed reference (every visible run checked and the matches
sorted) measured in the same run, with their ratio.

Run: ``python -m benchmarks.bench_emulator [--quick] [--skip-memory]``; prints JSON.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx

from globus_runs.testing import FakeClock, FakeGlobus, serve_in_thread
from globus_runs.testing._listing import parse_run_query, select_page
from globus_runs.testing._params import QueryParams
from globus_runs.testing._wire import format_time

from ._common import median, rounded

ROOT = Path(__file__).resolve().parents[1]


# -- memory of the served emulator ----------------------------------------------------------


def _rss(pid: int) -> dict[str, float]:
    """The resident set size of ``pid`` now and at its peak, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = rounded(int(value.split()[0]) / 1024)
    return {"rss_mib": fields["VmRSS"], "peak_rss_mib": fields["VmHWM"]}


def memory(requests: int = 20_000, bodies: int = 4, body_mib: int = 64) -> dict[str, Any]:
    """RSS of a served emulator at startup, after ``requests`` requests, after the bodies."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "globus_runs.testing", "serve", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    try:
        info = json.loads(process.stdout.readline())
        headers = {"Authorization": f"Bearer {info['token']}"}
        figures: dict[str, Any] = {"startup": _rss(process.pid)}
        statuses: dict[int, int] = {}
        with httpx.Client(base_url=info["flows_url"], headers=headers, timeout=120) as client:
            for index in range(requests):
                response = client.get("runs", params={"per_page": 1, "n": index})
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if (index + 1) % (requests // 4) == 0 and index + 1 < requests:
                    figures[f"after_{index + 1}_requests"] = _rss(process.pid)
            figures[f"after_{requests}_requests"] = {**_rss(process.pid), "statuses": statuses}
            body = b"x" * (body_mib * 1024 * 1024)
            big: dict[int, int] = {}
            for _ in range(bodies):
                response = client.post(f"flows/{info['flow_ids'][0]}/run", content=body)
                big[response.status_code] = big.get(response.status_code, 0) + 1
            figures[f"after_{bodies}_bodies_of_{body_mib}_mib"] = {
                **_rss(process.pid),
                "statuses": big,
            }
        return figures
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


# -- listing a campaign ---------------------------------------------------------------------


def _campaign(runs: int) -> tuple[FakeGlobus, list[str]]:
    """``runs`` runs of two flows (the oldest tenth of the second, unlabelled; the others
    labelled ``scan N``), started 10 ms apart up to now; the last minute's runs (6,000 of
    100,000) are still ACTIVE, the others have ended. Besides them, few runs for selective
    filters: 30 runs of a third flow titled ``Rare``, ending ``ENDED``, labelled
    ``Rare N``; 5 runs of the first flow the caller is a run manager of."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    fake = FakeGlobus(clock=FakeClock(now))
    big = fake.add_flow(title="Scan", duration=60.0)
    small = fake.add_flow(title="Reduce", duration=60.0, outcome="FAILED")
    share = runs // 10
    for index in range(0, runs, share):
        start = now - timedelta(seconds=(runs - index) * 0.01)
        fake.add_runs(
            small if index == 0 else big,
            share,
            start=start,
            interval=0.01,
            label=None if index == 0 else "scan {i}",
        )
    rare = fake.add_flow(title="Rare", duration=60.0, outcome="ENDED")
    fake.add_runs(rare, 30, start=now - timedelta(seconds=500), interval=1.0, label="Rare {i}")
    caller = "urn:globus:auth:identity:" + fake.identity_id
    fake.add_runs(big, 5, start=now - timedelta(seconds=400), run_managers=[caller])
    return fake, [big, small, rare]


# A case slower than this over its first rounds stops there (three rounds at least).
_CASE_SECONDS = 5.0


def _timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


async def _through_app(fake: FakeGlobus, rounds: int) -> list[float]:
    """Seconds per ``GET /runs`` (first page) through the ASGI app: HTTP and JSON included."""
    times = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app),
        base_url=fake.flows_url,
        headers={"Authorization": f"Bearer {fake.token}"},
    ) as client:
        for _ in range(rounds):
            began = time.perf_counter()
            response = await client.get("runs")
            times.append(time.perf_counter() - began)
            if response.status_code != 200 or len(response.json()["runs"]) != 20:
                raise RuntimeError(f"unexpected answer: {response.status_code}")
    return times


def _over_loopback(
    fake: FakeGlobus, queries: dict[str, list[tuple[str, str]]], rounds: int
) -> dict[str, float]:
    """Median milliseconds per ``GET /runs`` of each query, the emulator served from a
    thread and asked by httpx over loopback (HTTP, JSON and the GIL shared included)."""
    figures = {}
    with (
        serve_in_thread(fake) as info,
        httpx.Client(
            base_url=info["flows_url"],
            headers={"Authorization": f"Bearer {info['token']}"},
            timeout=120,
        ) as client,
    ):
        for name, params in queries.items():
            times = []
            for _ in range(rounds):
                began = time.perf_counter()
                response = client.get("runs", params=tuple(params))
                times.append(time.perf_counter() - began)
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: unexpected answer {response.status_code}")
            figures[name] = rounded(median(times) * 1000)
    return figures


def listing(runs: int, rounds: int) -> dict[str, Any]:
    """Milliseconds per ``GET /runs`` page over ``runs`` runs, indexed and unindexed."""
    fake, (big, small, _) = _campaign(runs)
    state = fake.flows_service
    caller = "urn:globus:auth:identity:" + fake.identity_id
    now = fake.clock.now()
    since = format_time(now - timedelta(seconds=30))
    queries: dict[str, list[tuple[str, str]]] = {
        "first page": [],
        "one flow": [("filter_flow_id", small)],
        "still running": [("filter_status", "ACTIVE,INACTIVE")],
        # Nothing matches: the walk reads every run's status (no index on status).
        "no match (filter_status=INACTIVE)": [("filter_status", "INACTIVE")],
        "ended since (what wait_for_runs asks)": [
            ("filter_flow_id", f"{big},{small}"),
            ("filter_status", "SUCCEEDED,FAILED,ENDED"),
            ("filter_completion_time", f"{since},"),
            ("orderby", "completion_time DESC"),
            ("per_page", "50"),
        ],
    }
    # Filters leaving few runs, none of them the order's field (so a walk of the order's
    # list would read every run to find them), alone and together.
    long_ago = now - timedelta(days=30)
    old_window = f"{format_time(long_ago)},{format_time(long_ago + timedelta(days=1))}"
    selective: dict[str, list[tuple[str, str]]] = {
        "filter_status=ENDED (30 runs)": [("filter_status", "ENDED")],
        "filter_status=ENDED,INACTIVE (30 runs), orderby=id ASC": [
            ("filter_status", "ENDED,INACTIVE"),
            ("orderby", "id ASC"),
        ],
        "filter_roles=run_manager (5 runs)": [("filter_roles", "run_manager")],
        "filter_completion_time a day a month ago (no run)": [
            ("filter_completion_time", old_window)
        ],
        "filter_completion_time no run, orderby=status DESC,label ASC": [
            ("filter_completion_time", old_window),
            ("orderby", "status DESC,label ASC"),
        ],
        "filter_flow_title=Rare (30 runs)": [("filter_flow_title", "Rare")],
        "filter_label=rare (30 runs)": [("filter_label", "rare")],
        "filter_label=rare,nothing, orderby=status ASC,start_time DESC": [
            ("filter_label", "rare,nothing"),
            ("orderby", "status ASC,start_time DESC"),
        ],
        "filter_label=scan 99 (111 runs), orderby=completion_time ASC": [
            ("filter_label", "scan 99"),
            ("orderby", "completion_time ASC"),
        ],
        "filter_label=rare, filter_status=SUCCEEDED (no run)": [
            ("filter_label", "rare"),
            ("filter_status", "SUCCEEDED"),
        ],
        # Each leaves many runs, together none: 10,000 FAILED runs, 90,000 labelled.
        "filter_status=FAILED, filter_label=scan (no run)": [
            ("filter_status", "FAILED"),
            ("filter_label", "scan"),
        ],
        # Many runs left, gathered late in the order: the worst cases measured.
        "filter_status=FAILED (10,000 runs), orderby=label ASC": [
            ("filter_status", "FAILED"),
            ("orderby", "label ASC"),
        ],
        "filter_label=scan 1 (9,999 runs), orderby=status DESC,label DESC,id ASC": [
            ("filter_label", "scan 1"),
            ("orderby", "status DESC,label DESC,id ASC"),
        ],
        "filter_flow_title=Rare, filter_roles=run_manager (no run)": [
            ("filter_flow_title", "Rare"),
            ("filter_roles", "run_manager"),
        ],
    }
    queries.update(selective)
    # The second page (by marker) of a status with few matches.
    answer = state.list_runs(
        caller, QueryParams([("filter_status", "ENDED"), ("per_page", "10")]), now
    )
    queries["filter_status=ENDED (30 runs), 2nd page"] = [("marker", answer["marker"])]
    # Every field orderby may name, each way, and orders of several fields: the first page
    # and the 50th (by marker).
    for field in ("id", "start_time", "completion_time", "status", "label"):
        for way in ("ASC", "DESC"):
            queries[f"orderby={field} {way}"] = [("orderby", f"{field} {way}")]
    for orderby in (
        "start_time ASC,status DESC",
        "status ASC,start_time DESC",  # the 6,000 ACTIVE runs tie on the first field
        "status DESC,start_time ASC",  # the 84,000 SUCCEEDED runs tie
        "label ASC,start_time DESC",  # 9 runs share each label
        "label DESC,start_time ASC",  # the 10,000 unlabelled runs tie
        "label DESC,start_time DESC",  # ... and are the oldest: 90,000 newer runs come first
        "status DESC,label DESC,id ASC",
    ):
        queries[f"orderby={orderby}"] = [("orderby", orderby)]
    for name in [name for name in queries if name.startswith("orderby=")]:
        params = queries[name]
        for _ in range(49):
            answer = state.list_runs(caller, QueryParams(params), now)
            params = [("marker", answer["marker"])]
        queries[f"{name}, 50th page"] = params
    # The 100th page: the marker of the 99th, read through the index.
    marker_params: list[tuple[str, str]] = []
    for _ in range(99):
        answer = state.list_runs(caller, QueryParams(marker_params), now)
        marker_params = [("marker", answer["marker"])]
    queries["100th page"] = marker_params
    waiting = QueryParams(queries["ended since (what wait_for_runs asks)"])
    first_settle = _timed(functools.partial(state.list_runs, caller, waiting, now))
    figures: dict[str, Any] = {
        "runs": runs,
        "first completion-ordered page, ms (settles every ended run once)": rounded(
            first_settle * 1000
        ),
    }
    for name, params in queries.items():
        indexed: list[float] = []
        while len(indexed) < rounds and (len(indexed) < 3 or sum(indexed) < _CASE_SECONDS):
            indexed.append(
                _timed(functools.partial(state.list_runs, caller, QueryParams(params), now))
            )
        figures[name] = {
            "indexed_ms": rounded(median(indexed) * 1000),
            "indexed_first_round_ms": rounded(indexed[0] * 1000),  # the page's logs built
        }
    selective_names = [*selective, "filter_status=ENDED (30 runs), 2nd page"]
    figures["selective filters over loopback (served in a thread, httpx), median ms"] = (
        _over_loopback(fake, {name: queries[name] for name in selective_names}, rounds)
    )
    figures["first page through the ASGI app, ms"] = rounded(
        median(anyio.run(_through_app, fake, rounds)) * 1000
    )
    # The unindexed reference (every visible run checked, the matches sorted), once each.
    for name in (
        "first page",
        "one flow",
        "orderby=status ASC,start_time DESC",
        "orderby=status DESC,start_time ASC",
        "orderby=label DESC,start_time ASC",
    ):
        params = queries[name]
        query = parse_run_query(QueryParams(params))
        began = time.perf_counter()
        select_page(state.visible_views(caller, now), query)
        unindexed = time.perf_counter() - began
        figures[name]["unindexed_ms"] = rounded(unindexed * 1000)
        figures[name]["ratio"] = rounded(unindexed / (figures[name]["indexed_ms"] / 1000))
    return figures


def main(quick: bool = False, skip_memory: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {"listing": listing(10_000 if quick else 100_000, 5 if quick else 21)}
    if not skip_memory:
        results["memory"] = memory(requests=2000 if quick else 20_000)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--skip-memory", action="store_true", help="only the listing figures")
    args = parser.parse_args()
    print(json.dumps(main(quick=args.quick, skip_memory=args.skip_memory), indent=2))
