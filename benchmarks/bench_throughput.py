"""Batch throughput over real loopback sockets, and efficiency against a latency-bound server.

The server is ``benchmarks._server`` in its own process (a bare asyncio HTTP/1.1 server
answering every request with the same production-shaped run), so it is never the bottleneck
and does not share the client's GIL. The contenders fetch runs with the same concurrency:

- ``globus_runs``: ``FlowsClient.batch_get_runs``;
- ``raw httpx``: one ``httpx.AsyncClient`` (pool sized to the concurrency) shared by a fixed
  set of ``concurrency`` worker tasks, each taking the next id until none is left,
  ``json.loads`` on each body;
- ``raw httpx2``: the same with ``httpx2.AsyncClient`` (httpx's successor, same API);
- ``raw aiohttp``: the same workers on one ``aiohttp.ClientSession`` with a ``TCPConnector``
  limited to the concurrency, on asyncio (as aiohttp's documentation recommends: one session,
  the connector bounding the connections);
- ``globus-sdk``: ``globus_sdk.FlowsClient`` (``AccessTokenAuthorizer``, ``base_url`` set to
  the server) called from a ``ThreadPoolExecutor`` of the same size, its ``requests`` pool
  mounted with ``pool_maxsize`` equal to the concurrency (its default of 10 would discard
  connections), each answer's ``.data`` read so the JSON is decoded.

A contender whose library is not installed is left out (and named under ``not_installed``):
only ``globus_runs`` and raw httpx are always there; ``nox -s bench`` installs the others.
Each block makes a fresh client, warms its pool with one request per worker, then times N
requests. Blocks of the contenders alternate within every round; runs per second are
medians over the rounds. Both cases run twice: over plain http, and over TLS (a ``trustme``
CA, each client trusting it its own way: ``verify=``, ``ssl=``, ``verify_ssl``). The
latency case has the server hold every answer 50 ms and runs 2,000 fetches at concurrency
100 with each client: the ideal is N x latency / concurrency = 1 s. ``--compare-package
NAME`` adds another importable copy of this package (the code before a change, say) as one
more contender, ``baseline``.
Run: ``python -m benchmarks.bench_throughput [--rounds N] [--quick] [--no-tls]``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import importlib.util
import json
import logging
import os
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Protocol

import anyio
import httpx

import globus_runs

from ._common import TOKEN, interleave_sync, median, rounded, run_id
from ._server import Server, serve_in_subprocess

CONCURRENCIES = (1, 16, 64)
LATENCY = 0.05
LATENCY_RUNS = 2000
LATENCY_CONCURRENCY = 100


def _ids(n: int) -> list[str]:
    return [run_id(i) for i in range(n)]


def _trust(ca_file: str | None) -> ssl.SSLContext | None:
    """The TLS context trusting the server's CA (None for plain http)."""
    return None if ca_file is None else ssl.create_default_context(cafile=ca_file)


def globus_runs_block(
    url: str, concurrency: int, n: int, package: Any = None, *, ca_file: str | None = None
) -> float:
    """Seconds to fetch ``n`` runs with ``FlowsClient.batch_get_runs``.

    ``package``: another copy of the package to take ``FlowsClient`` from (a baseline).
    Over TLS the client is on ``pooled_http_client(concurrency, verify=...)`` (its own pool,
    trusting the server's CA).
    """
    module = package if package is not None else globus_runs

    async def go() -> float:
        async with contextlib.AsyncExitStack() as stack:
            http = None
            if ca_file is not None:
                http = module.pooled_http_client(concurrency, verify=_trust(ca_file))
                await stack.enter_async_context(http)
            flows = module.FlowsClient(
                authorizer=TOKEN, base_url=url, concurrency=concurrency, http_client=http
            )
            await stack.enter_async_context(flows)
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


async def _workers(
    fetch: Callable[[str], Awaitable[None]], ids: list[str], concurrency: int
) -> None:
    """Fetch every id with ``concurrency`` worker tasks, each taking the next id until none is
    left: a fixed set of tasks rather than one per id behind a semaphore."""
    pending = iter(ids)

    async def worker() -> None:
        for run in pending:
            await fetch(run)

    async with anyio.create_task_group() as tg:
        for _ in range(min(concurrency, len(ids))):
            tg.start_soon(worker)


def raw_httpx_block(
    url: str, concurrency: int, n: int, module: ModuleType = httpx, *, ca_file: str | None = None
) -> float:
    """Seconds to fetch ``n`` runs with bare httpx, ``concurrency`` at a time.

    ``module``: another library with httpx's API to use instead (httpx2).
    """

    async def go() -> float:
        limits = module.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        verify = _trust(ca_file) or True
        async with module.AsyncClient(limits=limits, verify=verify) as http:
            done: list[Any] = []

            async def fetch(run: str) -> None:
                answer = await http.get(f"{url}/runs/{run}", headers=headers)
                assert answer.status_code == 200
                done.append(json.loads(answer.content))

            await _workers(fetch, _ids(concurrency), concurrency)
            done.clear()
            ids = _ids(n)
            started = time.perf_counter()
            await _workers(fetch, ids, concurrency)
            elapsed = time.perf_counter() - started
            assert len(done) == n
            return elapsed

    return anyio.run(go)


def raw_httpx2_block(url: str, concurrency: int, n: int, *, ca_file: str | None = None) -> float:
    """Seconds to fetch ``n`` runs with bare httpx2, ``concurrency`` at a time."""
    httpx2 = importlib.import_module("httpx2")
    return raw_httpx_block(url, concurrency, n, httpx2, ca_file=ca_file)


def raw_aiohttp_block(url: str, concurrency: int, n: int, *, ca_file: str | None = None) -> float:
    """Seconds to fetch ``n`` runs with bare aiohttp, ``concurrency`` at a time."""
    import aiohttp

    async def go() -> float:
        connector = aiohttp.TCPConnector(limit=concurrency, ssl=_trust(ca_file) or True)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
            done: list[Any] = []

            async def fetch(run: str) -> None:
                async with http.get(f"{url}/runs/{run}") as answer:
                    assert answer.status == 200
                    done.append(json.loads(await answer.read()))

            await _workers(fetch, _ids(concurrency), concurrency)
            done.clear()
            ids = _ids(n)
            started = time.perf_counter()
            await _workers(fetch, ids, concurrency)
            elapsed = time.perf_counter() - started
            assert len(done) == n
            return elapsed

    # aiohttp runs on asyncio only.
    return anyio.run(go, backend="asyncio")


def globus_sdk_block(url: str, concurrency: int, n: int, *, ca_file: str | None = None) -> float:
    """Seconds to fetch ``n`` runs with the official SDK from ``concurrency`` threads."""
    import globus_sdk
    from requests.adapters import HTTPAdapter

    client = globus_sdk.FlowsClient(
        authorizer=globus_sdk.AccessTokenAuthorizer(TOKEN), base_url=url
    )
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=concurrency)
    client.transport.session.mount("http://", adapter)
    client.transport.session.mount("https://", adapter)
    if ca_file is not None:
        client.transport.verify_ssl = ca_file

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


class Block(Protocol):
    """Seconds one contender takes to fetch ``n`` runs from ``url``, ``concurrency`` at a time
    (over TLS trusting ``ca_file`` when the URL is https)."""

    def __call__(
        self, url: str, concurrency: int, n: int, *, ca_file: str | None = None
    ) -> float: ...


CLIENTS: dict[str, Block] = {
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
) -> dict[str, Block]:
    """The contenders whose library is installed; with ``compare``, also that copy of the
    package as ``baseline``."""
    missing = not_installed(importable)
    clients = {name: block for name, block in CLIENTS.items() if name not in missing}
    if compare is not None:
        package = importlib.import_module(compare)

        def baseline(url: str, concurrency: int, n: int, *, ca_file: str | None = None) -> float:
            return globus_runs_block(url, concurrency, n, package, ca_file=ca_file)

        clients["baseline"] = baseline
    return clients


def _level(
    server: Server, concurrency: int, n: int, rounds: int, compare: str | None
) -> dict[str, Any]:
    """The clients at one concurrency, interleaved over ``rounds``."""
    busy: list[float] = []

    def timed(block: Block) -> Callable[[], float]:
        def run() -> float:
            before = _cpu_seconds(server.pid)
            elapsed = block(server.url, concurrency, n, ca_file=server.ca_file)
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


def throughput(
    rounds: int, *, quick: bool = False, compare: str | None = None, tls: bool = False
) -> dict[str, Any]:
    """Runs per second of each client at each concurrency, against the fast server (over TLS
    with ``tls``)."""
    results: dict[str, Any] = {}
    with _quiet(), serve_in_subprocess(tls=tls) as server:
        for concurrency in CONCURRENCIES:
            n = (40 if concurrency == 1 else 200) if quick else (1000 if concurrency == 1 else 2000)
            results[str(concurrency)] = _level(server, concurrency, n, rounds, compare)
    return results


def latency_bound(
    rounds: int, *, quick: bool = False, compare: str | None = None, tls: bool = False
) -> dict[str, Any]:
    """``batch_get_runs`` against a server adding 50 ms per request, as a share of the ideal."""
    n = 400 if quick else LATENCY_RUNS
    ideal = n * LATENCY / LATENCY_CONCURRENCY
    with _quiet(), serve_in_subprocess(latency=LATENCY, tls=tls) as server:
        blocks: dict[str, Callable[[], float]] = {
            name: functools.partial(
                block, server.url, LATENCY_CONCURRENCY, n, ca_file=server.ca_file
            )
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


def main(
    rounds: int = 7, *, quick: bool = False, compare: str | None = None, tls: bool = True
) -> dict[str, Any]:
    """Both cases, plain and (with ``tls``) over TLS; ``quick`` makes them a short smoke run,
    ``compare`` adds a baseline copy."""
    rounds = 1 if quick else rounds
    results = {
        "throughput": throughput(rounds, quick=quick, compare=compare),
        "latency_bound": latency_bound(max(1, rounds // 2), quick=quick, compare=compare),
    }
    if tls:
        results["throughput_tls"] = throughput(rounds, quick=quick, compare=compare, tls=True)
        results["latency_bound_tls"] = latency_bound(
            max(1, rounds // 2), quick=quick, compare=compare, tls=True
        )
    return {**results, "not_installed": not_installed()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--compare-package", help="another importable copy of the package")
    parser.add_argument("--no-tls", action="store_true", help="plain http only")
    args = parser.parse_args()
    figures = main(args.rounds, quick=args.quick, compare=args.compare_package, tls=not args.no_tls)
    print(json.dumps(figures, indent=2))
