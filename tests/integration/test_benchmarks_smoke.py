"""The benchmark harness still runs (tiny sizes; no figure is checked, only the plumbing)."""

from __future__ import annotations

import json

import anyio
import httpx

from benchmarks import bench_overhead
from benchmarks._common import interleave_sync, run_document
from benchmarks._server import serve_in_subprocess


def test_overhead_case_runs_every_operation_on_both_sides() -> None:
    results = anyio.run(bench_overhead.measure, 1, 0.01)
    assert set(results) == {"get_run", "list_runs_page_100", "iter_runs_walk_10000"}
    for figures in results.values():
        assert figures["client_us"] > 0
        assert figures["raw_us"] > 0
        assert figures["ratio_client_over_raw"] > 0


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
