"""Fleet operations: a bulk cancel against per-run cancels, and what telemetry costs.

Two cases:

- ``bulk_cancel``: cancel N running runs of the emulator, served on loopback with a fixed
  latency per answer (50 ms by default), once with ``bulk_cancel_runs`` (``POST /batch/runs``,
  500 ids a request) and once with ``batch_cancel_runs`` (one ``POST /runs/{id}/cancel`` per
  run, at the client's default concurrency of 10). Reported: requests the service received
  and wall-clock seconds for each. Each side cancels its own, fresh runs.
- ``telemetry``: CPU time per ``get_run`` on the library's own connections (the lean path,
  against the fast benchmark server) with telemetry off (OpenTelemetry imported, but no
  provider set), with one no-op request hook, and with OpenTelemetry on (an SDK
  ``TracerProvider`` whose exporter drops the spans), in interleaved rounds; medians.

Run: ``python -m benchmarks.bench_fleet [--runs N] [--latency S] [--calls N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio

from globus_runs import FlowsClient, RequestEvent, configure_telemetry
from globus_runs.testing import FakeClock, FakeGlobus, serve_in_thread

from ._common import TOKEN, interleave, median, rounded, run_id
from ._server import serve_in_subprocess


async def _cancel_side(
    info: dict[str, Any],
    fake: FakeGlobus,
    flow_id: str,
    runs: int,
    cancel: Callable[[FlowsClient, list[str]], Awaitable[object]],
) -> dict[str, Any]:
    run_ids = fake.add_runs(flow_id, runs)
    before = len(fake.requests)
    async with FlowsClient(authorizer=info["token"], base_url=info["flows_url"]) as flows:
        started = time.perf_counter()
        await cancel(flows, run_ids)
        elapsed = time.perf_counter() - started
    canceled = sum(fake.get_run_document(r)["details"]["code"] == "FlowCanceled" for r in run_ids)
    return {
        "requests": len(fake.requests) - before,
        "seconds": round(elapsed, 2),
        "canceled": canceled,
    }


async def bulk_cancel(runs: int, latency: float) -> dict[str, Any]:
    """Cancel ``runs`` runs each way against the emulator answering after ``latency`` s."""
    fake = FakeGlobus(clock=FakeClock())
    flow_id = fake.add_flow(duration=1e9)
    fake.latency = latency

    async def bulk(flows: FlowsClient, run_ids: list[str]) -> object:
        return await flows.bulk_cancel_runs(run_ids)

    async def per_run(flows: FlowsClient, run_ids: list[str]) -> object:
        return await flows.batch_cancel_runs(run_ids)

    with serve_in_thread(fake) as info:
        update_runs = await _cancel_side(info, fake, flow_id, runs, bulk)
        batch_cancel_runs = await _cancel_side(info, fake, flow_id, runs, per_run)
    return {
        "runs": runs,
        "latency_s": latency,
        "update_runs": update_runs,
        "batch_cancel_runs": batch_cancel_runs,
        "request_ratio": round(batch_cancel_runs["requests"] / max(1, update_runs["requests"]), 1),
        "time_ratio": round(batch_cancel_runs["seconds"] / max(1e-9, update_runs["seconds"]), 1),
    }


class _DropSpans:
    """An exporter that keeps nothing: the cost measured is making the spans."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


async def telemetry(calls: int, rounds: int) -> dict[str, Any]:
    """CPU microseconds per ``get_run`` on the lean path: off, with a hook, with spans."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_DropSpans()))  # type: ignore[arg-type]
    ids = [run_id(n) for n in range(calls)]
    with serve_in_subprocess() as server:
        plain = FlowsClient(authorizer=TOKEN, base_url=server.url)
        hooked = FlowsClient(authorizer=TOKEN, base_url=server.url)
        hooked.add_request_hook(_ignore)
        traced = FlowsClient(authorizer=TOKEN, base_url=server.url)

        def block(flows: FlowsClient, spans: bool) -> Callable[[], Awaitable[float]]:
            async def timed() -> float:
                configure_telemetry(provider if spans else None)
                try:
                    started = time.process_time()
                    for run in ids:
                        await flows.get_run(run)
                    return (time.process_time() - started) / calls
                finally:
                    configure_telemetry()

            return timed

        blocks = {
            "off": block(plain, False),
            "request_hook": block(hooked, False),
            "opentelemetry": block(traced, True),
        }
        try:
            for warm in blocks.values():
                await warm()
            values = await interleave(blocks, rounds)
        finally:
            for flows in (plain, hooked, traced):
                await flows.aclose()
            provider.shutdown()
    medians = {name: median(times) for name, times in values.items()}
    figures: dict[str, Any] = {"calls_per_block": calls, "rounds": rounds}
    figures.update({f"{name}_us": rounded(s * 1e6) for name, s in medians.items()})
    for name in ("request_hook", "opentelemetry"):
        figures[f"{name}_extra_us"] = rounded((medians[name] - medians["off"]) * 1e6)
    return figures


def _ignore(event: RequestEvent) -> None:
    del event


def main(*, quick: bool = False) -> dict[str, Any]:
    """Both cases; ``quick`` makes them a short smoke run."""
    runs, latency = (200, 0.05) if quick else (2000, 0.05)
    calls, rounds = (100, 3) if quick else (500, 15)
    return {
        "bulk_cancel": anyio.run(bulk_cancel, runs, latency),
        "telemetry": anyio.run(telemetry, calls, rounds),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    results = {
        "bulk_cancel": anyio.run(bulk_cancel, args.runs, args.latency),
        "telemetry": anyio.run(telemetry, args.calls, args.rounds),
    }
    print(json.dumps(results, indent=2))
