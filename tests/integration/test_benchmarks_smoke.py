"""The benchmark harness still runs (tiny sizes; no figure is checked, only the plumbing)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anyio
import httpx
import pytest

from benchmarks import bench_overhead, bench_throughput
from benchmarks._common import interleave_sync, run_document
from benchmarks._server import Server, serve_in_subprocess
from benchmarks.run import summary


def test_overhead_case_runs_every_operation_on_both_sides() -> None:
    results = anyio.run(bench_overhead.measure, 1, 0.01)
    assert set(results) == {"get_run", "list_runs_page_100", "iter_runs_walk_10000"}
    for figures in results.values():
        assert figures["client_us"] > 0
        assert figures["raw_us"] > 0
        assert figures["ratio_client_over_raw"] > 0
    # The client on the raw side's own httpx.AsyncClient is measured in the get_run case only.
    assert results["get_run"]["client_on_httpx_us"] > 0
    assert "client_on_httpx_us" not in results["list_runs_page_100"]


def test_rounds_rotate_which_block_goes_first() -> None:
    order: list[str] = []

    def block(name: str) -> float:
        order.append(name)
        return 1.0

    values = interleave_sync({"a": lambda: block("a"), "b": lambda: block("b")}, 2)
    assert values == {"a": [1.0, 1.0], "b": [1.0, 1.0]}
    assert order == ["a", "b", "b", "a"]


def test_the_benchmark_server_answers_kept_alive_requests() -> None:
    with serve_in_subprocess() as server, httpx.Client() as http:
        for n in range(3):
            answer = http.post(f"{server.url}/runs/{n}", content=b'{"a": 1}')
            assert answer.status_code == 200
            assert json.loads(answer.content) == run_document()
        answer = http.get(f"{server.url}/runs/x")
        assert answer.json()["run_id"] == run_document()["run_id"]


@pytest.fixture(scope="module")
def bench_server() -> Iterator[Server]:
    with serve_in_subprocess() as server:
        yield server


@pytest.mark.parametrize("name", list(bench_throughput.CLIENTS))
def test_each_throughput_contender_fetches_every_run(bench_server: Server, name: str) -> None:
    module = bench_throughput.NEEDS.get(name)
    if module is not None and not bench_throughput.installed(module):
        pytest.skip(f"{module} is not installed (nox -s bench installs it)")
    # Each block asserts it got every run back, answered 200.
    seconds = bench_throughput.CLIENTS[name](bench_server.url, 2, 8)
    assert seconds > 0


def test_a_contender_whose_library_is_missing_is_left_out() -> None:
    def importable(module: str) -> bool:
        return module != "aiohttp"

    names = set(bench_throughput.contenders(importable=importable))
    assert names == set(bench_throughput.CLIENTS) - {"raw_aiohttp"}
    assert bench_throughput.not_installed(importable) == ["raw_aiohttp"]


def test_the_summary_names_only_the_contenders_measured() -> None:
    level = {
        "globus_runs_runs_per_s": 900.0,
        "raw_httpx_runs_per_s": 300.0,
        "globus_runs_over_raw_httpx": 3.0,
    }
    results = {"throughput": {"throughput": {"16": level}, "not_installed": ["globus_sdk"]}}
    rows = summary(results).splitlines()
    assert rows[2:] == [
        "| loopback, concurrency 16 | runs/s: globus_runs / raw httpx | 900 / 300 "
        "(3.0x raw httpx) | > 1x each |",
        "| loopback | contenders not installed | globus_sdk | |",
    ]
