"""What the benchmark cases share: interleaved rounds, medians, payloads, the machine."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAYLOADS = ROOT / "tests" / "payloads"
TOKEN = "bench-token"


def run_document() -> dict[str, Any]:
    """The production-shaped run every case answers with."""
    import json

    document: dict[str, Any] = json.loads((PAYLOADS / "flows_run_succeeded.json").read_bytes())
    return document


def run_id(n: int) -> str:
    """A distinct, valid run id for item ``n``."""
    return f"00000000-0000-4000-8000-{n:012d}"


def median(values: list[float]) -> float:
    return statistics.median(values)


def rounded(value: float, digits: int = 3) -> float:
    """``value`` to ``digits`` significant digits, for the report."""
    if value == 0:
        return 0.0
    return float(f"{value:.{digits}g}")


async def interleave(
    blocks: Mapping[str, Callable[[], Awaitable[float]]], rounds: int
) -> dict[str, list[float]]:
    """Run every block once per round, rotating which one goes first; return their values.

    Each block measures itself and returns one figure (seconds per operation, say). Rotating
    the order spreads drifts of a noisy, shared machine over all the contenders alike.
    """
    names = list(blocks)
    values: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            values[name].append(await blocks[name]())
    return values


def interleave_sync(
    blocks: Mapping[str, Callable[[], float]], rounds: int
) -> dict[str, list[float]]:
    """:func:`interleave` for blocks that are plain functions."""
    names = list(blocks)
    values: dict[str, list[float]] = {name: [] for name in names}
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            values[name].append(blocks[name]())
    return values


def machine() -> dict[str, Any]:
    """Where the figures come from."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d"),
    }


def versions() -> dict[str, str]:
    """Versions of the libraries measured."""
    from importlib import metadata

    found: dict[str, str] = {}
    names = ("globus-runs", "httpx", "httpcore", "orjson", "cattrs", "anyio", "globus-sdk")
    for name in (*names, "aiohttp", "httpx2", "httpcore2"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    from globus_runs import _json

    # Which JSON decoder the client really uses: orjson's when it is installed.
    found["json_decoder"] = getattr(_json.loads, "__module__", None) or "json"
    return found
