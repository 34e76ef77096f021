"""Peak memory of a 100,000-item streaming ``batch_get_runs``, against the list form.

The ids come from a lazy generator and every request is answered in memory (an
``httpx.MockTransport`` returning a production-shaped run), so what is measured is the
client: Python allocations traced by ``tracemalloc``, peak above the level before the batch.
Run: ``python -m benchmarks.bench_stream_memory [--items N]``.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx

from globus_runs import FlowsClient, RetryPolicy

PAYLOAD = Path(__file__).resolve().parents[1] / "tests" / "payloads" / "flows_run_succeeded.json"


def _ids(n: int) -> Iterator[str]:
    for _ in range(n):
        yield str(uuid.uuid4())


def _client() -> FlowsClient:
    body = PAYLOAD.read_bytes()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return FlowsClient(
        authorizer="bench-token",
        base_url="https://flows.example.org",
        transport=httpx.MockTransport(answer),
        retry=RetryPolicy.disabled(),
        concurrency=64,
    )


async def _streamed(n: int) -> tuple[float, float, int]:
    async with _client() as flows:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        ok = 0
        async with flows.stream_get_runs(_ids(n)) as results:
            async for result in results:
                ok += result.ok
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    return peak / 2**20, elapsed, ok


async def _listed(n: int) -> tuple[float, float, int]:
    async with _client() as flows:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        results = await flows.batch_get_runs(_ids(n))
        ok = sum(result.ok for result in results)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    return peak / 2**20, elapsed, ok


async def main(n: int) -> dict[str, float]:
    stream_mb, stream_s, stream_ok = await _streamed(n)
    list_mb, list_s, list_ok = await _listed(n)
    assert stream_ok == list_ok == n
    return {
        "items": n,
        "stream_peak_mb": round(stream_mb, 1),
        "stream_seconds": round(stream_s, 1),
        "list_peak_mb": round(list_mb, 1),
        "list_seconds": round(list_s, 1),
        "list_over_stream_memory": round(list_mb / stream_mb, 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps(anyio.run(main, args.items), indent=2))
