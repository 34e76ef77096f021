"""The files of ``batch start``: its input (one run per line) and its results (JSON lines).

Input: each non-blank line is a JSON object ``{"body": {...}, "label"?: str, "tags"?: [str],
"run_managers"?: [str], "run_monitors"?: [str]}``; ``body`` is the flow input.

Results: one JSON object per line, appended as each start ends, in completion order:
``{"line": 3, "run_id": "...", "flow_id": "...", "status": "ACTIVE", "label": ...,
"start_time": "..."}`` for a started run, ``{"line": 3, "error": {"type", "message",
"http_status"?, "code"?}}`` for a line that could not be started. ``line`` is the 1-based
line number in the input file. A line may be recorded more than once (a failure, then a
success on a rerun): the last record counts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .._models import Run, RunRequest
from ._output import error_document

__all__ = [
    "InputError",
    "ResultsWriter",
    "parse_line",
    "pending_requests",
    "read_results",
    "recorded_runs",
    "run_record",
    "scan_inputs",
]

_RECORD_START = '{"line": '
_REQUEST_KEYS = frozenset({"body", "label", "tags", "run_managers", "run_monitors"})


class InputError(ValueError):
    """A line of the input file that is not a run to start."""


def parse_line(text: str, flow_id: str) -> RunRequest:
    """The run a line of the input file asks for; raises :class:`InputError`."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        # json's own message counts lines within the text, which is one line of the file.
        raise InputError(f"not JSON: {error.msg} at column {error.colno}") from None
    except ValueError as error:
        raise InputError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise InputError("not a JSON object")
    unknown = set(document) - _REQUEST_KEYS
    if unknown:
        raise InputError(f"unknown keys {sorted(unknown)}: put the flow input under 'body'")
    body = document.get("body")
    if not isinstance(body, dict):
        raise InputError("'body' (the flow input) must be a JSON object")
    label = document.get("label")
    if label is not None and not isinstance(label, str):
        raise InputError("'label' must be a string")
    lists: dict[str, list[str] | None] = {}
    for key in ("tags", "run_managers", "run_monitors"):
        value = document.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ):
            raise InputError(f"'{key}' must be a list of strings")
        lists[key] = value
    return RunRequest(
        flow_id,
        body,
        label=label,
        tags=lists["tags"],
        run_managers=lists["run_managers"],
        run_monitors=lists["run_monitors"],
    )


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if text.strip():
                yield number, text


def scan_inputs(path: Path, flow_id: str, done: set[int]) -> tuple[int, int, dict[int, str]]:
    """A first pass over the input: how many lines are runs, how many of them remain to be
    started (not in ``done``), and why each remaining invalid line is invalid."""
    total = pending = 0
    invalid: dict[int, str] = {}
    for number, text in _numbered_lines(path):
        total += 1
        if number in done:
            continue
        pending += 1
        try:
            parse_line(text, flow_id)
        except InputError as error:
            invalid[number] = str(error)
    return total, pending, invalid


def pending_requests(path: Path, flow_id: str, skip: set[int]) -> Iterator[tuple[int, RunRequest]]:
    """The runs still to start, lazily, with their line numbers (lines in ``skip`` left out)."""
    for number, text in _numbered_lines(path):
        if number not in skip:
            yield number, parse_line(text, flow_id)


def read_results(path: Path) -> dict[int, dict[str, Any]]:
    """The last record of each line in a results file (none when the file does not exist).

    A record cut short (the process was killed while writing it) is ignored.
    """
    records: dict[int, dict[str, Any]] = {}
    if not path.exists():
        return records
    lines = path.read_text(encoding="utf-8").splitlines()
    for position, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError:
            if text.startswith(_RECORD_START):
                continue  # cut short by a kill: that line was not recorded
            raise InputError(f"{path}:{position} is not a JSON line of results") from None
        if not isinstance(record, dict) or not isinstance(record.get("line"), int):
            raise InputError(f"{path}:{position} is not a record of a batch start")
        records[record["line"]] = record
    return records


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def recorded_runs(records: dict[int, dict[str, Any]]) -> list[tuple[int, Run]]:
    """The runs recorded as started, by line number, as :class:`Run` objects.

    They carry what was known at start (flow, status, start time), which is all that
    ``wait_for_runs`` needs to wait without fetching each run first.
    """
    found = []
    for line in sorted(records):
        record = records[line]
        run_id, flow_id = record.get("run_id"), record.get("flow_id")
        if isinstance(run_id, str) and isinstance(flow_id, str):
            status = record.get("status")
            run = Run(
                run_id=run_id,
                flow_id=flow_id,
                status=status if isinstance(status, str) else "ACTIVE",
                label=record.get("label"),
                start_time=_time(record.get("start_time")),
            )
            found.append((line, run))
    return found


def run_record(line: int, run: Run | None, error: BaseException | str | None) -> dict[str, Any]:
    """The results-file record of one input line."""
    if run is not None:
        return {
            "line": line,
            "run_id": run.run_id,
            "flow_id": run.flow_id,
            "status": run.status,
            "label": run.label,
            "start_time": run.start_time.isoformat() if run.start_time else None,
        }
    if isinstance(error, BaseException):
        return {"line": line, "error": error_document(error)}
    return {"line": line, "error": {"type": "InvalidInputLine", "message": str(error)}}


class ResultsWriter:
    """Appends records to a results file, each flushed as soon as it is written (a killed
    process loses none that were reported)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[str] | None = None

    def __enter__(self) -> ResultsWriter:
        # A record cut short by a kill has no newline: start on a fresh line.
        cut_short = False
        if self._path.exists() and self._path.stat().st_size > 0:
            with self._path.open("rb") as existing:
                existing.seek(-1, os.SEEK_END)
                cut_short = existing.read(1) != b"\n"
        self._file = self._path.open("a", encoding="utf-8")
        if cut_short:
            self._file.write("\n")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()

    def write(self, record: dict[str, Any]) -> None:
        """Append one record and flush it."""
        assert self._file is not None
        text = json.dumps(record, ensure_ascii=False)
        assert text.startswith(_RECORD_START)
        self._file.write(text + "\n")
        self._file.flush()
