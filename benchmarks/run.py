"""Run every benchmark case, write the figures as JSON and draw the throughput chart.

Run: ``python -m benchmarks.run`` (what ``nox -s bench`` does), or with ``--only overhead
throughput`` for some cases (their figures replace those in the existing JSON), ``--quick``
for a short smoke run of everything (figures not meant for the record; written to
``--output`` only if given).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from . import (
    bench_import,
    bench_overhead,
    bench_stream_memory,
    bench_throughput,
    bench_wait_for_runs,
)
from ._common import machine, versions

HERE = Path(__file__).resolve().parent
CASES = ("overhead", "throughput", "wait_for_runs", "stream_memory", "import")


def _wait_for_runs(quick: bool) -> dict[str, Any]:
    return anyio.run(bench_wait_for_runs.main, 200 if quick else 1000, 7)


def _stream_memory(quick: bool) -> dict[str, Any]:
    return anyio.run(bench_stream_memory.main, 2000 if quick else 100_000)


def _throughput(quick: bool) -> dict[str, Any]:
    return bench_throughput.main(quick=quick)


def _overhead(quick: bool) -> dict[str, Any]:
    return bench_overhead.main(quick=quick)


def _import(quick: bool) -> dict[str, Any]:
    return bench_import.main(quick=quick)


RUNNERS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "overhead": _overhead,
    "throughput": _throughput,
    "wait_for_runs": _wait_for_runs,
    "stream_memory": _stream_memory,
    "import": _import,
}


def chart(results: dict[str, Any], path: Path) -> bool:
    """Draw runs per second against concurrency for the three clients; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart")
        return False
    figures = results["throughput"]["throughput"]
    levels = sorted(figures, key=int)
    x = [int(level) for level in levels]
    labels = {
        "globus_runs": "globus_runs (batch_get_runs)",
        "raw_httpx": "raw httpx + anyio.Semaphore",
        "globus_sdk": "globus-sdk + ThreadPoolExecutor",
    }
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for (name, label), marker in zip(labels.items(), "osD", strict=True):
        y = [figures[level][f"{name}_runs_per_s"] for level in levels]
        ax.plot(x, y, marker=marker, linewidth=2, label=label)
        for xi, yi in zip(x, y, strict=True):
            ax.annotate(f"{yi:.0f}", (xi, yi), textcoords="offset points", xytext=(6, 6))
    ax.set_xscale("log", base=2)
    ax.set_xticks(x, [str(value) for value in x])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("concurrency (requests in flight)")
    ax.set_ylabel("runs fetched per second (median)")
    info = results.get("machine", {})
    ax.set_title(
        "GET /runs/{id} over loopback, one fast server\n"
        f"{info.get('nproc', '?')} cores, {info.get('cpu', '?')}, Python {info.get('python', '?')}"
    )
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--output", type=Path, default=None, help="results JSON")
    parser.add_argument("--chart", type=Path, default=None, help="throughput PNG")
    args = parser.parse_args()
    output: Path | None = args.output
    if output is None and not args.quick:
        output = HERE / "results.json"
    results: dict[str, Any] = {}
    if output is not None and output.exists():
        results = json.loads(output.read_text())
    results["machine"] = machine()
    results["versions"] = versions()
    for name in args.only:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        results[name] = RUNNERS[name](args.quick)
        print(json.dumps(results[name], indent=2))
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
        if output is not None:
            output.write_text(json.dumps(results, indent=2) + "\n")
    chart_path: Path | None = args.chart
    if chart_path is None and output is not None:
        chart_path = HERE / "throughput.png"
    if chart_path is not None and "throughput" in results and chart(results, chart_path):
        print(f"chart: {chart_path}")
    if output is not None:
        print(f"results: {output}")


if __name__ == "__main__":
    main()
