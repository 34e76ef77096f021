"""Batch throughput over real loopback sockets, and efficiency against a latency-bound server.

The server is ``benchmarks._server`` in its own process (a bare asyncio HTTP/1.1 server
answering every request with the same production-shaped run), so it is never the bottleneck
and does not share the client's GIL. The contenders fetch runs with the same concurrency:

- ``globus_runs``: ``FlowsClient.batch_get_runs``;
- ``raw httpx``: one ``httpx.AsyncClient`` (pool sized to the concurrency), one task per id
  gated by an ``anyio.Semaphore``, ``json.loads`` on each body;
- ``raw httpx2``: the same with ``httpx2.AsyncClient`` (httpx's successor, same API);
- ``raw aiohttp``: the same with one ``aiohttp.ClientSession`` (a ``TCPConnector`` limited
  to the concurrency) on asyncio;
- ``globus-sdk``: ``globus_sdk.FlowsClient`` (``AccessTokenAuthorizer``, ``base_url`` set to
  the server) called from a ``ThreadPoolExecutor`` of the same size, its ``requests`` pool
  mounted with ``pool_maxsize`` equal to the concurrency (its default of 10 would discard
  connections), each answer's ``.data`` read so the JSON is decoded.

A contender whose library is not installed is left out (and named under ``not_installed``):
only ``globus_runs`` and raw httpx are always there; ``nox -s bench`` installs the others.
Each block makes a fresh client, warms its pool with one request per worker, then times N
requests. Blocks of the contenders alternate within every round; runs per second are
medians over the rounds. The latency case has the server hold every answer 50 ms and runs
2,000 fetches at concurrency 100 with each client: the ideal is N x latency / concurrency
= 1 s. ``--compare-package NAME`` adds another importable copy of this package (the code
before a change, say) as one more contender, ``baseline``.
Run: ``python -m benchmarks.bench_throughput [--rounds N] [--quick]``.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import anyio
import httpx

from globus_runs import FlowsClient

from ._common import TOKEN, interleave_sync, median, rounded, run_id
from ._server import Server, serve_in_subprocess

CONCURRENCIES = (1, 16, 64)
LATENCY = 0.05
LATENCY_RUNS = 2000
LATENCY_CONCURRENCY = 100


def _ids(n: int) -> list[str]:
    return [run_id(i) for i in range(n)]


def globus_runs_block(url: str, concurrency: int, n: int, package: Any = None) -> float:
    """Seconds to fetch ``n`` runs with ``FlowsClient.batch_get_runs``.

    ``package``: another copy of the package to take ``FlowsClient`` from (a baseline).
    """
    client_class = FlowsClient if package is None else package.FlowsClient

    async def go() -> float:
        async with client_class(authorizer=TOKEN, base_url=url, concurrency=concurrency) as flows:
            warm = await flows.batch_get_runs(_ids(concurrency))
            assert all(result.ok for result in warm), warm[0]
            ids = _ids(n)
            started = time.perf_counter()
            results = await flows.batch_get_runs(ids)
            elapsed = time.perf_counter() - started
            assert len(results) == n
            assert all(result.ok for result in results)
            return elapsed

    return anyio.run(go)


def raw_httpx_block(url: str, concurrency: int, n: int, module: ModuleType = httpx) -> float:
    """Seconds to fetch ``n`` runs with bare httpx, ``concurrency`` at a time.

    ``module``: another library with httpx's API to use instead (httpx2).
    """

    async def go() -> float:
        limits = module.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with module.AsyncClient(limits=limits) as http:
            gate = anyio.Semaphore(concurrency)
            done: list[Any] = []

            async def fetch(run: str) -> None:
                async with gate:
                    answer = await http.get(f"{url}/runs/{run}", headers=headers)
                    assert answer.status_code == 200
                    done.append(json.loads(answer.content))

            async def fetch_all(ids: list[str]) -> None:
                async with anyio.create_task_group() as tg:
                    for run in ids:
                        tg.start_soon(fetch, run)

            await fetch_all(_ids(concurrency))
            done.clear()
            ids = _ids(n)
            started = time.perf_counter()
            await fetch_all(ids)
            elapsed = time.perf_counter() - started
            assert len(done) == n
            return elapsed

    return anyio.run(go)


def raw_httpx2_block(url: str, concurrency: int, n: int) -> float:
    """Seconds to fetch ``n`` runs with bare httpx2, ``concurrency`` at a time."""
    return raw_httpx_block(url, concurrency, n, importlib.import_module("httpx2"))


def raw_aiohttp_block(url: str, concurrency: int, n: int) -> float:
    """Seconds to fetch ``n`` runs with bare aiohttp, ``concurrency`` at a time."""
    import aiohttp

    async def go() -> float:
        connector = aiohttp.TCPConnector(limit=concurrency)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
            gate = anyio.Semaphore(concurrency)
            done: list[Any] = []

            async def fetch(run: str) -> None:
                async with gate, http.get(f"{url}/runs/{run}") as answer:
                    assert answer.status == 200
                    done.append(json.loads(await answer.read()))

            async def fetch_all(ids: list[str]) -> None:
                async with anyio.create_task_group() as tg:
                    for run in ids:
                        tg.start_soon(fetch, run)

            await fetch_all(_ids(concurrency))
            done.clear()
            ids = _ids(n)
            started = time.perf_counter()
            await fetch_all(ids)
            elapsed = time.perf_counter() - started
            assert len(done) == n
            return elapsed

    # aiohttp runs on asyncio only.
    return anyio.run(go, backend="asyncio")


def globus_sdk_block(url: str, concurrency: int, n: int) -> float:
    """Seconds to fetch ``n`` runs with the official SDK from ``concurrency`` threads."""
    import globus_sdk
    from requests.adapters import HTTPAdapter

    client = globus_sdk.FlowsClient(
        authorizer=globus_sdk.AccessTokenAuthorizer(TOKEN), base_url=url
    )
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=concurrency)
    client.transport.session.mount("http://", adapter)

    def fetch(run: str) -> str:
        status: str = client.get_run(run).data["status"]
        return status

    try:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(fetch, _ids(concurrency)))
            ids = _ids(n)
            started = time.perf_counter()
            statuses = list(pool.map(fetch, ids))
            elapsed = time.perf_counter() - started
        assert len(statuses) == n
        return elapsed
    finally:
        client.close()


CLIENTS: dict[str, Callable[[str, int, int], float]] = {
    "globus_runs": globus_runs_block,
    "raw_httpx": raw_httpx_block,
    "raw_aiohttp": raw_aiohttp_block,
    "raw_httpx2": raw_httpx2_block,
    "globus_sdk": globus_sdk_block,
}
# The library each optional contender needs; a contender without it is left out.
NEEDS = {"raw_aiohttp": "aiohttp", "raw_httpx2": "httpx2", "globus_sdk": "globus_sdk"}


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here."""
    return importlib.util.find_spec(module) is not None


def not_installed(importable: Callable[[str], bool] = installed) -> list[str]:
    """The optional contenders whose library is missing."""
    return [name for name, module in NEEDS.items() if not importable(module)]


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` (Linux), to show the server's load."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence urllib3's and the SDK's per-request log chatter while measuring."""
    loggers = [logging.getLogger(name) for name in ("urllib3", "globus_sdk")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def contenders(
    compare: str | None = None, importable: Callable[[str], bool] = installed
) -> dict[str, Callable[[str, int, int], float]]:
    """The contenders whose library is installed; with ``compare``, also that copy of the
    package as ``baseline``."""
    missing = not_installed(importable)
    clients = {name: block for name, block in CLIENTS.items() if name not in missing}
    if compare is not None:
        clients["baseline"] = functools.partial(
            globus_runs_block, package=importlib.import_module(compare)
        )
    return clients


def _level(
    server: Server, concurrency: int, n: int, rounds: int, compare: str | None
) -> dict[str, Any]:
    """The clients at one concurrency, interleaved over ``rounds``."""
    busy: list[float] = []

    def timed(block: Callable[[str, int, int], float]) -> Callable[[], float]:
        def run() -> float:
            before = _cpu_seconds(server.pid)
            elapsed = block(server.url, concurrency, n)
            after = _cpu_seconds(server.pid)
            if before is not None and after is not None:
                busy.append((after - before) / elapsed)
            return n / elapsed

        return run

    clients = contenders(compare)
    values = interleave_sync({name: timed(block) for name, block in clients.items()}, rounds)
    rates = {name: median(rates) for name, rates in values.items()}
    figures: dict[str, Any] = {
        "requests_per_block": n,
        "rounds": rounds,
        **{f"{name}_runs_per_s": rounded(rate) for name, rate in rates.items()},
    }
    for other in clients:
        if other != "globus_runs":
            figures[f"globus_runs_over_{other}"] = round(rates["globus_runs"] / rates[other], 2)
    # The server's CPU share while answering: well below 1, it is not the bottleneck.
    figures["server_cpu_busy_max"] = round(max(busy), 2) if busy else None
    return figures


def throughput(rounds: int, *, quick: bool = False, compare: str | None = None) -> dict[str, Any]:
    """Runs per second of each client at each concurrency, against the fast server."""
    results: dict[str, Any] = {}
    with _quiet(), serve_in_subprocess() as server:
        for concurrency in CONCURRENCIES:
            n = (40 if concurrency == 1 else 200) if quick else (1000 if concurrency == 1 else 2000)
            results[str(concurrency)] = _level(server, concurrency, n, rounds, compare)
    return results


def latency_bound(
    rounds: int, *, quick: bool = False, compare: str | None = None
) -> dict[str, Any]:
    """``batch_get_runs`` against a server adding 50 ms per request, as a share of the ideal."""
    n = 400 if quick else LATENCY_RUNS
    ideal = n * LATENCY / LATENCY_CONCURRENCY
    with _quiet(), serve_in_subprocess(latency=LATENCY) as server:
        blocks: dict[str, Callable[[], float]] = {
            name: functools.partial(block, server.url, LATENCY_CONCURRENCY, n)
            for name, block in contenders(compare).items()
        }
        values = interleave_sync(blocks, rounds)
    seconds = {name: median(times) for name, times in values.items()}
    return {
        "runs": n,
        "concurrency": LATENCY_CONCURRENCY,
        "latency_s": LATENCY,
        "rounds": rounds,
        "ideal_s": round(ideal, 3),
        **{f"{name}_s": round(elapsed, 3) for name, elapsed in seconds.items()},
        **{f"{name}_efficiency": round(ideal / elapsed, 3) for name, elapsed in seconds.items()},
    }


def main(rounds: int = 7, *, quick: bool = False, compare: str | None = None) -> dict[str, Any]:
    """Both cases; ``quick`` makes them a short smoke run, ``compare`` adds a baseline copy."""
    rounds = 1 if quick else rounds
    return {
        "throughput": throughput(rounds, quick=quick, compare=compare),
        "latency_bound": latency_bound(max(1, rounds // 2), quick=quick, compare=compare),
        "not_installed": not_installed(),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--compare-package", help="another importable copy of the package")
    args = parser.parse_args()
    print(json.dumps(main(args.rounds, quick=args.quick, compare=args.compare_package), indent=2))
