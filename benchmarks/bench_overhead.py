"""Client overhead against raw ``httpx`` + ``json`` on the same in-memory transport.

Both sides send the same requests to one ``httpx.MockTransport`` answering production-shaped
documents, so what differs is only what each side does around the HTTP call. The raw side
sends through an ``httpx.AsyncClient`` and decodes the body with ``json.loads``, building
nothing. The client validates the id, asks its authorizer, bounds the attempt and the body,
maps errors, decodes and structures models. It is built with ``transport=``, so its requests
go straight to the transport; in the ``get_run`` case it is also measured on the raw side's
own ``httpx.AsyncClient`` (``http_client=``), going through ``AsyncClient.send`` as the raw
side does (``client_on_httpx``). Three operations: ``get_run``, one 100-run ``list_runs``
page, and an ``iter_runs`` walk of 10,000 runs (100 pages of 100). Flows caps ``per_page``
at 50, so neither side asks for a page size: the transport answers 100 runs a page
regardless. Blocks of each side alternate within every round and are timed in process CPU
time (all the work is in this process, and CPU time does not count the moments a busy,
shared machine gives to others); figures are medians over the rounds, and the ratio is the
median of each round's client/raw ratio.
Run: ``python -m benchmarks.bench_overhead [--rounds N] [--quick]``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from globus_runs import FlowsClient

from ._common import TOKEN, interleave, median, rounded, run_document, run_id

BASE = "https://flows.example.org"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
PAGE_SIZE = 100
WALK_PAGES = 100


def _page(first: int, *, marker: str | None) -> bytes:
    runs = []
    for n in range(first, first + PAGE_SIZE):
        document = run_document()
        document["run_id"] = document["action_id"] = run_id(n)
        runs.append(document)
    page: dict[str, Any] = {"runs": runs, "has_next_page": marker is not None}
    if marker is not None:
        page["marker"] = marker
    return json.dumps(page).encode()


def mock_transport() -> httpx.MockTransport:
    """Answers ``GET /runs/{id}`` with one run, ``GET /runs`` with pages of 100 runs.

    Without a ``marker`` the listing is the first page of a 100-page walk; ``marker=pN``
    gives page N. Answers are built once, so serving them costs next to nothing.
    """
    run = json.dumps(run_document()).encode()
    pages = [
        _page(n * PAGE_SIZE, marker=f"p{n + 1}" if n + 1 < WALK_PAGES else None)
        for n in range(WALK_PAGES)
    ]
    json_type = {"content-type": "application/json"}

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/runs":
            marker = request.url.params.get("marker")
            index = int(marker[1:]) if marker else 0
            return httpx.Response(200, content=pages[index], headers=json_type)
        if path.startswith("/runs/"):
            return httpx.Response(200, content=run, headers=json_type)
        return httpx.Response(404, json={"code": "NotFound"})

    return httpx.MockTransport(answer)


class Raw:
    """The baseline: the same calls with httpx and ``json.loads``, nothing constructed."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def get_run(self, run_id: str) -> Any:
        answer = await self.http.get(f"{BASE}/runs/{run_id}", headers=HEADERS)
        if answer.status_code != 200:
            raise RuntimeError(answer.status_code)
        return json.loads(answer.content)

    async def list_runs(self, marker: str | None = None) -> Any:
        url = f"{BASE}/runs?marker={marker}" if marker is not None else f"{BASE}/runs"
        answer = await self.http.get(url, headers=HEADERS)
        if answer.status_code != 200:
            raise RuntimeError(answer.status_code)
        return json.loads(answer.content)

    async def walk(self) -> int:
        count = 0
        marker: str | None = None
        while True:
            page = await self.list_runs(marker)
            for _ in page["runs"]:
                count += 1
            if not page.get("has_next_page") or not page.get("marker"):
                return count
            marker = page["marker"]


def _timed(
    operation: Callable[[int], Awaitable[object]], calls: int
) -> Callable[[], Awaitable[float]]:
    """A block making ``calls`` operations, returning the CPU seconds per operation."""

    async def block() -> float:
        started = time.process_time()
        for n in range(calls):
            await operation(n)
        return (time.process_time() - started) / calls

    return block


class Client:
    """The contender: a ``FlowsClient`` (of this package, or of another copy of it)."""

    def __init__(self, flows: Any) -> None:
        self.flows = flows

    async def get_run(self, run_id: str) -> Any:
        return await self.flows.get_run(run_id)

    async def page(self) -> int:
        return len((await self.flows.list_runs()).runs)

    async def walk(self) -> int:
        count = 0
        async for _run in self.flows.iter_runs():
            count += 1
        return count


class RawContender(Raw):
    async def page(self) -> int:
        return len((await self.list_runs())["runs"])


async def measure(rounds: int, scale: float = 1.0, compare: str | None = None) -> dict[str, Any]:
    """Every operation, client against raw, interleaved; seconds per operation, ratios.

    ``compare`` names another importable copy of the package (``globus_runs_before``, say)
    whose ``FlowsClient`` joins the rounds as ``baseline``: before/after figures of a change,
    measured side by side.
    """
    transport = mock_transport()
    http = httpx.AsyncClient(transport=transport)
    contenders: dict[str, Client | RawContender] = {
        "client": Client(FlowsClient(authorizer=TOKEN, base_url=BASE, transport=transport)),
        "raw": RawContender(http),
    }
    # The same client on an httpx.AsyncClient of the caller's (through AsyncClient.send),
    # measured in the get_run case only.
    contenders["client_on_httpx"] = Client(
        FlowsClient(authorizer=TOKEN, base_url=BASE, http_client=http)
    )
    if compare is not None:
        other = importlib.import_module(compare)
        contenders["baseline"] = Client(
            other.FlowsClient(authorizer=TOKEN, base_url=BASE, transport=transport)
        )
        contenders["baseline_on_httpx"] = Client(
            other.FlowsClient(authorizer=TOKEN, base_url=BASE, http_client=http)
        )
    on_httpx = {"client_on_httpx", "baseline_on_httpx"}
    ids = [run_id(n) for n in range(1000)]
    walked = PAGE_SIZE * WALK_PAGES

    def get_run(side: Client | RawContender) -> Callable[[int], Awaitable[None]]:
        async def op(n: int) -> None:
            await side.get_run(ids[n % len(ids)])

        return op

    def page(side: Client | RawContender) -> Callable[[int], Awaitable[None]]:
        async def op(_: int) -> None:
            assert await side.page() == PAGE_SIZE

        return op

    def walk(side: Client | RawContender) -> Callable[[int], Awaitable[None]]:
        async def op(_: int) -> None:
            assert await side.walk() == walked

        return op

    cases: dict[
        str, tuple[Callable[[Client | RawContender], Callable[[int], Awaitable[None]]], int]
    ]
    cases = {
        "get_run": (get_run, max(1, int(300 * scale))),
        "list_runs_page_100": (page, max(1, int(20 * scale))),
        "iter_runs_walk_10000": (walk, 1),
    }
    results: dict[str, Any] = {}
    try:
        for name, (operation, calls) in cases.items():
            ops = {
                side: operation(contender)
                for side, contender in contenders.items()
                if name == "get_run" or side not in on_httpx
            }
            for op in ops.values():  # one untimed pass warms caches and generated functions
                await op(0)
            values = await interleave({side: _timed(op, calls) for side, op in ops.items()}, rounds)
            medians = {side: median(times) for side, times in values.items()}
            figures: dict[str, Any] = {"calls_per_block": calls, "rounds": rounds}
            figures.update({f"{side}_us": rounded(s * 1e6) for side, s in medians.items()})
            for side in ops:
                if side == "raw":
                    continue
                paired = [a / b for a, b in zip(values[side], values["raw"], strict=True)]
                figures[f"ratio_{side}_over_raw"] = round(median(paired), 2)
                figures[f"ratio_{side}_over_raw_of_medians"] = round(
                    medians[side] / medians["raw"], 2
                )
            for client, baseline in (
                ("client", "baseline"),
                ("client_on_httpx", "baseline_on_httpx"),
            ):
                if baseline in values:
                    paired = [a / b for a, b in zip(values[client], values[baseline], strict=True)]
                    figures[f"ratio_{client}_over_{baseline}"] = round(median(paired), 2)
            results[name] = figures
    finally:
        await http.aclose()
        for contender in contenders.values():
            if isinstance(contender, Client):
                await contender.flows.aclose()
    return results


def main(rounds: int = 31, *, quick: bool = False, compare: str | None = None) -> dict[str, Any]:
    """Run the case; ``quick`` makes it a short smoke run."""
    return anyio.run(measure, 3 if quick else rounds, 0.1 if quick else 1.0, compare)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--compare-package", help="another importable copy of the package, as a baseline"
    )
    args = parser.parse_args()
    print(json.dumps(main(args.rounds, quick=args.quick, compare=args.compare_package), indent=2))
