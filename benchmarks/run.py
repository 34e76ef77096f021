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
    bench_fleet,
    bench_import,
    bench_overhead,
    bench_stream_memory,
    bench_throughput,
    bench_wait_for_runs,
)
from ._common import machine, versions

HERE = Path(__file__).resolve().parent
# The throughput contenders as the summary names them, in its order.
CONTENDERS = {
    "globus_runs": "globus_runs",
    "raw_httpx": "raw httpx",
    "raw_aiohttp": "raw aiohttp",
    "raw_httpx2": "raw httpx2",
    "globus_sdk": "globus-sdk",
    "baseline": "baseline",
}
CASES = ("overhead", "throughput", "wait_for_runs", "stream_memory", "import", "fleet")


def _wait_for_runs(quick: bool, compare: str | None) -> dict[str, Any]:
    return anyio.run(bench_wait_for_runs.main, 200 if quick else 1000, 7)


def _stream_memory(quick: bool, compare: str | None) -> dict[str, Any]:
    return anyio.run(bench_stream_memory.main, 2000 if quick else 100_000)


def _throughput(quick: bool, compare: str | None) -> dict[str, Any]:
    return bench_throughput.main(quick=quick, compare=compare)


def _overhead(quick: bool, compare: str | None) -> dict[str, Any]:
    return bench_overhead.main(quick=quick, compare=compare)


def _import(quick: bool, compare: str | None) -> dict[str, Any]:
    return bench_import.main(quick=quick, compare=compare)


def _fleet(quick: bool, compare: str | None) -> dict[str, Any]:
    return bench_fleet.main(quick=quick)


RUNNERS: dict[str, Callable[[bool, str | None], dict[str, Any]]] = {
    "overhead": _overhead,
    "throughput": _throughput,
    "wait_for_runs": _wait_for_runs,
    "stream_memory": _stream_memory,
    "import": _import,
    "fleet": _fleet,
}


def chart(results: dict[str, Any], path: Path) -> bool:
    """Draw runs per second against concurrency for the contenders; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.transforms import Bbox
    except ImportError:
        print("matplotlib is not installed: no chart")
        return False
    figures = results["throughput"]["throughput"]
    levels = sorted(figures, key=int)
    x = [int(level) for level in levels]
    labels = {
        "globus_runs": "globus_runs (batch_get_runs)",
        "raw_httpx": "raw httpx, one worker task per connection",
        "raw_aiohttp": "raw aiohttp, one worker task per connection",
        "raw_httpx2": "raw httpx2, one worker task per connection",
        "globus_sdk": "globus-sdk + ThreadPoolExecutor",
        "baseline": "globus_runs, the compared copy (--compare-package)",
    }
    styles = {
        "globus_runs": ("o", "-"),
        "raw_httpx": ("s", "-"),
        "raw_aiohttp": ("^", "-"),
        "raw_httpx2": ("v", "-"),
        "globus_sdk": ("D", "-"),
        "baseline": ("o", "--"),
    }
    fig, ax = plt.subplots(figsize=(8, 6.5), dpi=120)
    rows: list[list[str]] = []
    row_labels: list[str] = []
    colors: list[Any] = []
    for name, label in labels.items():
        if f"{name}_runs_per_s" not in figures[levels[0]]:
            continue
        marker, line = styles[name]
        y = [figures[level][f"{name}_runs_per_s"] for level in levels]
        (drawn,) = ax.plot(x, y, marker=marker, linestyle=line, linewidth=2, label=label)
        rows.append([f"{value:.0f}" for value in y])
        row_labels.append(label)
        colors.append(drawn.get_color())
    # The figures themselves, in a table under the plot: labels on the lines would collide.
    table = ax.table(
        cellText=[[label, *row] for label, row in zip(row_labels, rows, strict=True)],
        colLabels=["runs per second", *(f"concurrency {level}" for level in levels)],
        colWidths=[0.46] + [0.18] * len(levels),
        cellLoc="center",
        bbox=Bbox.from_bounds(0.0, -0.56, 1.0, 0.34),
    )
    for row, color in enumerate(colors, start=1):
        cell = table[row, 0]
        cell.set_facecolor(color)
        cell.get_text().set_color("white")
        cell.get_text().set_fontweight("bold")
    ax.set_xscale("log", base=2)
    ax.set_xticks(x, [str(value) for value in x])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("concurrency (requests in flight)")
    ax.set_ylabel("runs fetched per second (median)")
    info = results.get("machine", {})
    ax.set_title(
        f"GET /runs/{{id}} over loopback, one fast server (medians of "
        f"{figures[levels[0]].get('rounds', '?')} rounds)\n"
        f"{info.get('nproc', '?')} cores, {info.get('cpu', '?')}, Python {info.get('python', '?')}"
    )
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.subplots_adjust(left=0.1, right=0.97, top=0.9, bottom=0.36)
    fig.savefig(path)
    plt.close(fig)
    return True


def _loopback_rows(loop: dict[str, Any], over: str, suffix: str) -> list[str]:
    """The summary's rows of the throughput case, plain (``suffix`` empty) or over TLS."""
    rows: list[str] = []
    for level, t in loop.get(f"throughput{suffix}", {}).items():
        measured = [name for name in CONTENDERS if f"{name}_runs_per_s" in t]
        others = [name for name in measured if name != "globus_runs"]
        rows.append(
            f"| loopback{over}, concurrency {level} | runs/s: "
            + " / ".join(CONTENDERS[name] for name in measured)
            + " | "
            + " / ".join(f"{t[f'{name}_runs_per_s']:g}" for name in measured)
            + " ("
            + ", ".join(f"{t[f'globus_runs_over_{name}']}x {CONTENDERS[name]}" for name in others)
            + f") | {'> 1x each' if level in ('16', '64') else ''} |"
        )
    if f"latency_bound{suffix}" in loop:
        lb = loop[f"latency_bound{suffix}"]
        others = [
            f"{CONTENDERS[name]} {lb[f'{name}_efficiency']:.0%}"
            for name in CONTENDERS
            if name != "globus_runs" and f"{name}_efficiency" in lb
        ]
        rows.append(
            f"| latency-bound{over}, {lb['runs']} runs at {lb['concurrency']}, "
            f"{lb['latency_s'] * 1000:g} ms | ideal {lb['ideal_s']} s / measured | "
            f"{lb['globus_runs_efficiency']:.0%} ({lb['globus_runs_s']} s; "
            + ", ".join(others)
            + ") | >= 90% |"
        )
    return rows


def summary(results: dict[str, Any]) -> str:
    """The headline figures of ``results`` as a Markdown table."""
    rows = ["| case | figure | measured | target |", "|---|---|---|---|"]
    overhead = results.get("overhead", {})
    targets = {"get_run": "<= 1.15", "list_runs_page_100": "<= 1.5", "iter_runs_walk_10000": ""}
    for name, target in targets.items():
        if name in overhead:
            o = overhead[name]
            rows.append(
                f"| overhead `{name}` | client / raw httpx+json (CPU time per call) | "
                f"{o['ratio_client_over_raw']}x ({o['client_us']:g} vs {o['raw_us']:g} us) "
                f"| {target} |"
            )
    on_httpx = overhead.get("get_run", {})
    if "client_on_httpx_us" in on_httpx:
        rows.append(
            "| overhead `get_run` on a caller's `httpx.AsyncClient` | client / raw httpx+json | "
            f"{on_httpx['ratio_client_on_httpx_over_raw']}x "
            f"({on_httpx['client_on_httpx_us']:g} vs {on_httpx['raw_us']:g} us) | |"
        )
    loop = results.get("throughput", {})
    for over, suffix in (("", ""), (" over TLS", "_tls")):
        rows += _loopback_rows(loop, over, suffix)
    if loop.get("not_installed"):
        rows.append(
            f"| loopback | contenders not installed | {', '.join(loop['not_installed'])} | |"
        )
    if "wait_for_runs" in results:
        w = results["wait_for_runs"]
        rows.append(
            f"| wait_for_runs, {w['runs']} runs | requests per poll: list queries / per-run "
            f"| {w['wait_for_runs_requests_per_poll']} / {w['per_run_polling_requests_per_poll']}"
            f" ({w['ratio_requests_per_poll']}x fewer) | >= 50x fewer |"
        )
    if "stream_memory" in results:
        m = results["stream_memory"]
        rows.append(
            f"| streaming batch, {m['items']} items | peak traced memory growth "
            f"(list form) | {m['stream_peak_mb']} MB ({m['list_peak_mb']} MB) | < 50 MB |"
        )
    if "import" in results:
        i = results["import"]
        rows.append(
            f"| import | `-X importtime` ms: globus_runs / httpx | "
            f"{i['importtime_globus_runs_ms']} / {i['importtime_httpx_ms']} "
            f"({i['ratio_globus_runs_over_httpx']}x) | |"
        )
    if "fleet" in results:
        b, t = results["fleet"]["bulk_cancel"], results["fleet"]["telemetry"]
        rows.append(
            f"| cancel {b['runs']} runs, {b['latency_s'] * 1000:g} ms service | requests and s: "
            f"update_runs / per-run batch_cancel_runs | {b['update_runs']['requests']} in "
            f"{b['update_runs']['seconds']} s / {b['batch_cancel_runs']['requests']} in "
            f"{b['batch_cancel_runs']['seconds']} s | |"
        )
        rows.append(
            f"| telemetry, get_run on the lean path | CPU us per request: off / hook / "
            f"OpenTelemetry | {t['off_us']:g} / {t['request_hook_us']:g} / "
            f"{t['opentelemetry_us']:g} | |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--output", type=Path, default=None, help="results JSON")
    parser.add_argument("--chart", type=Path, default=None, help="throughput PNG")
    parser.add_argument(
        "--chart-only", action="store_true", help="redraw the chart from the results JSON"
    )
    parser.add_argument(
        "--compare-package",
        help="another importable copy of this package (the code before a change), measured "
        "beside it as 'baseline' in the overhead and throughput cases",
    )
    args = parser.parse_args()

    output: Path | None = args.output
    if output is None and not args.quick:
        output = HERE / "results.json"
    results: dict[str, Any] = {}
    if output is not None and output.exists():
        results = json.loads(output.read_text())
    if not args.chart_only:
        results["machine"] = machine()
        results["versions"] = versions()
    for name in [] if args.chart_only else args.only:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        results[name] = RUNNERS[name](args.quick, args.compare_package)
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
    print(summary(results))


if __name__ == "__main__":
    main()
