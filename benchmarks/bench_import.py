"""``import globus_runs`` time, against ``import httpx`` (its heaviest dependency) and a bare start.

Each round starts three fresh interpreters, in rotating order: ``python -c pass``, ``python
-c "import httpx"`` and ``python -c "import globus_runs"``, timed from outside; the figures are
medians over the rounds. The ``-X importtime`` cumulative time of the top-level module, read
from a fourth interpreter per round, gives the same comparison without the start-up cost.
With ``--compare-package NAME``, another copy of the package joins the rounds, timed both ways.
The interpreters may write and read cached bytecode (``PYTHONDONTWRITEBYTECODE`` is dropped
for them, and each statement runs once before the rounds), as they do for an installed
package: otherwise the package's own modules would be compiled on every start and httpx's not.
Run: ``python -m benchmarks.bench_import [--rounds N] [--compare-package NAME]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from ._common import ROOT, interleave_sync, median

STATEMENTS = {"bare": "pass", "httpx": "import httpx", "globus_runs": "import globus_runs"}


#: The environment of the timed interpreters: bytecode cached, as for an installed package.
_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def _start(statement: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, cwd=ROOT, env=_ENV)
    return time.perf_counter() - started


def _importtime(module: str) -> float:
    """Cumulative seconds ``python -X importtime`` reports for ``module``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        cwd=ROOT,
        env=_ENV,
        capture_output=True,
        text=True,
    )
    for line in done.stderr.splitlines():
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return float(parts[1]) / 1e6
    raise RuntimeError(f"no importtime line for {module}")


def main(rounds: int = 15, *, quick: bool = False, compare: str | None = None) -> dict[str, Any]:
    """The figures; ``compare`` names another importable copy of the package, measured in the
    same rounds as ``baseline``."""
    rounds = 3 if quick else rounds
    blocks: dict[str, Callable[[], float]] = {
        name: functools.partial(_start, statement) for name, statement in STATEMENTS.items()
    }
    for module in ("httpx", "globus_runs"):
        blocks[f"importtime_{module}"] = functools.partial(_importtime, module)
    if compare is not None:
        blocks["baseline"] = functools.partial(_start, f"import {compare}")
        blocks["importtime_baseline"] = functools.partial(_importtime, compare)
    for block in blocks.values():
        block()  # writes the bytecode caches
    values = interleave_sync(blocks, rounds)
    ms = {name: median(times) * 1000 for name, times in values.items()}
    baseline: dict[str, Any] = {}
    if compare is not None:
        baseline = {
            "import_baseline_net_ms": round(ms["baseline"] - ms["bare"], 1),
            "net_ratio_baseline_over_httpx": round(
                (ms["baseline"] - ms["bare"]) / (ms["httpx"] - ms["bare"]), 2
            ),
            "importtime_baseline_ms": round(ms["importtime_baseline"], 1),
            "ratio_baseline_over_httpx": round(
                ms["importtime_baseline"] / ms["importtime_httpx"], 2
            ),
        }
    return {
        "rounds": rounds,
        "interpreter_bare_ms": round(ms["bare"], 1),
        "python_c_import_httpx_ms": round(ms["httpx"], 1),
        "python_c_import_globus_runs_ms": round(ms["globus_runs"], 1),
        "import_httpx_net_ms": round(ms["httpx"] - ms["bare"], 1),
        "import_globus_runs_net_ms": round(ms["globus_runs"] - ms["bare"], 1),
        "net_ratio_globus_runs_over_httpx": round(
            (ms["globus_runs"] - ms["bare"]) / (ms["httpx"] - ms["bare"]), 2
        ),
        "importtime_httpx_ms": round(ms["importtime_httpx"], 1),
        "importtime_globus_runs_ms": round(ms["importtime_globus_runs"], 1),
        "ratio_globus_runs_over_httpx": round(
            ms["importtime_globus_runs"] / ms["importtime_httpx"], 2
        ),
        **baseline,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--compare-package", help="another importable copy of the package")
    args = parser.parse_args()
    print(json.dumps(main(args.rounds, quick=args.quick, compare=args.compare_package), indent=2))
