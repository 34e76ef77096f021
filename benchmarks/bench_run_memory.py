"""Memory per ``Run`` against the size of its JSON, on production-shaped run documents.

For each run document of ``tests/payloads`` (the production-shaped bodies, and any folder
given with ``--payloads``), a page of ``--runs``
copies (each with its own run id) is decoded and parsed as the client parses ``GET /runs``;
the page is dropped and what the runs still hold is measured with ``tracemalloc``. Two ways
of keeping a run are measured in the same run of this script:

- ``kept as dict``: a ``Run`` holding the decoded document and its typed fields (what every
  ``Run`` was before; still what ``Run(..., raw=document)`` builds),
- ``parsed``: a ``Run`` as the client parses it now (its document as compact JSON).

Also reported: the time to parse one run either way, and to read one lazy field.
Run: ``python -m benchmarks.bench_run_memory [--runs N] [--payloads DIR]... [--json]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from globus_runs import Run, RunPage, _json
from globus_runs import _run_document as doc
from globus_runs._converter import structure

from ._common import PAYLOADS, rounded, run_id


def _documents(folders: list[Path]) -> dict[str, bytes]:
    """Every run document found, by file name (the first found of each name)."""
    found: dict[str, bytes] = {}
    for folder in folders:
        for path in sorted(folder.glob("flows_run_*.json")):
            document = json.loads(path.read_bytes())
            if path.name not in found and isinstance(document, dict) and "flow_id" in document:
                found[path.name] = path.read_bytes()
    return found


def _page(body: bytes, n: int) -> bytes:
    """A ``GET /runs`` page of ``n`` copies of the run, each with its own id, as sent."""
    document = json.loads(body)
    runs = [{**document, "run_id": run_id(i), "action_id": run_id(i)} for i in range(n)]
    return json.dumps({"runs": runs, "has_next_page": False}, separators=(",", ":")).encode()


def _kept_as_dict(document: dict[str, Any]) -> Run:
    """A run holding its decoded document, with each typed field read from it once."""
    fields = dict(zip(doc.LAZY_FIELDS, (read(document) for read in doc.READERS), strict=True))
    return Run(
        run_id=document["run_id"],
        flow_id=document["flow_id"],
        status=document["status"],
        raw=document,
        **fields,
    )


def _parsed_page(page: bytes) -> list[Run]:
    return structure(_json.loads(page), RunPage).runs


def _dict_page(page: bytes) -> list[Run]:
    return [_kept_as_dict(item) for item in _json.loads(page)["runs"]]


def _bytes_per_run(parse: Callable[[bytes], list[Run]], page: bytes, n: int) -> float:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    runs = parse(page)
    gc.collect()  # the page's own objects are gone: what is left is held by the runs
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(runs) == n
    return held / n


def _seconds_per_run(parse: Callable[[bytes], list[Run]], page: bytes, n: int) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        parse(page)
        best = min(best, time.perf_counter() - started)
    return best / n


def _read_label(runs: list[Run]) -> float:
    started = time.perf_counter()
    for run in runs:
        _ = run.label
    return (time.perf_counter() - started) / len(runs)


def main(n: int, folders: list[Path] | None = None) -> dict[str, Any]:
    figures: dict[str, Any] = {"runs_per_page": n, "documents": {}}
    for name, body in _documents([*(folders or []), PAYLOADS]).items():
        compact = len(json.dumps(json.loads(body), separators=(",", ":")).encode())
        page = _page(body, n)
        before = _bytes_per_run(_dict_page, page, n)
        after = _bytes_per_run(_parsed_page, page, n)
        figures["documents"][name] = {
            "json_bytes": compact,
            "file_bytes": len(body),
            "kept_as_dict_bytes_per_run": round(before),
            "parsed_bytes_per_run": round(after),
            "kept_as_dict_over_json": rounded(before / compact),
            "parsed_over_json": rounded(after / compact),
            "kept_as_dict_parse_us": rounded(_seconds_per_run(_dict_page, page, n) * 1e6),
            "parsed_parse_us": rounded(_seconds_per_run(_parsed_page, page, n) * 1e6),
            "kept_as_dict_read_label_us": rounded(_read_label(_dict_page(page)) * 1e6),
            "parsed_read_label_us": rounded(_read_label(_parsed_page(page)) * 1e6),
        }
    return figures


def _table(figures: dict[str, Any]) -> str:
    lines = [
        f"{figures['runs_per_page']} runs per page; bytes held per Run after the page is dropped",
        f"{'document':42} {'JSON':>6} {'dict':>7} {'x':>5} {'parsed':>7} {'x':>5}"
        f" {'parse us dict/parsed':>21} {'label us':>14}",
    ]
    for name, row in figures["documents"].items():
        lines.append(
            f"{name:42} {row['json_bytes']:>6} {row['kept_as_dict_bytes_per_run']:>7}"
            f" {row['kept_as_dict_over_json']:>5} {row['parsed_bytes_per_run']:>7}"
            f" {row['parsed_over_json']:>5}"
            f" {row['kept_as_dict_parse_us']:>10}/{row['parsed_parse_us']:<10}"
            f" {row['kept_as_dict_read_label_us']:>6}/{row['parsed_read_label_us']:<6}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--payloads", type=Path, action="append", default=[])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    result = main(args.runs, args.payloads)
    print(json.dumps(result, indent=2) if args.json else _table(result))
