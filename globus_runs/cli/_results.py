"""The files of ``batch start``: its input (one run per line) and its results (JSON lines).

Input: each non-blank line is a JSON object ``{"body": {...}, "label"?: str, "tags"?: [str],
"run_managers"?: [str], "run_monitors"?: [str]}``; ``body`` is the flow input.

Results: one JSON object per line. Before a start is sent, its intent is written and synced
to disk: ``{"line": 3, "intent": "globus-runs-request:<uuid>", "flow_id": "...", "input":
"<digest of the input line>", "at": "..."}``; the tag goes on the run. When the start ends,
its outcome is appended: ``{"line": 3, "tag": ..., "run_id": "...", "flow_id": "...",
"status": "ACTIVE", "label": ..., "start_time": "..."}`` for a started run, ``{"line": 3,
"tag"?: ..., "error": {"type", "message", "http_status"?, "code"?}}`` for a line that could
not be started. ``line`` is the 1-based line number in the input file. A line may be
recorded more than once (a failure, then a success on a rerun): the last record counts. A
line with an intent but no run recorded is looked up by its tags before it is started again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import anyio
import attrs

from .._models import Run, RunRequest
from ..flows._starts import REQUEST_TAG_PREFIX
from ._output import error_document

__all__ = [
    "BatchLog",
    "ForeignResultsError",
    "InputError",
    "LineState",
    "ResultsWriter",
    "TornRecord",
    "intent_record",
    "line_digest",
    "parse_line",
    "pending_requests",
    "read_batch",
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


class ForeignResultsError(InputError):
    """A results file written for another input file than the one given."""


def scan_inputs(
    path: Path, flow_id: str, done: set[int], digests: Mapping[int, str] | None = None
) -> tuple[int, int, dict[int, str]]:
    """A first pass over the input: how many lines are runs, how many of them remain to be
    started (not in ``done``), and why each remaining invalid line is invalid.

    ``digests`` are the digests a results file recorded for lines of its input
    (`line_digest`): a line that differs raises :class:`ForeignResultsError`.
    """
    total = pending = 0
    invalid: dict[int, str] = {}
    expected = dict(digests or {})
    for number, text in _numbered_lines(path):
        total += 1
        digest = expected.pop(number, None)
        if digest is not None and digest != line_digest(text):
            raise ForeignResultsError(f"line {number} of {path} is not the line recorded there")
        if number in done:
            continue
        pending += 1
        try:
            parse_line(text, flow_id)
        except InputError as error:
            invalid[number] = str(error)
    if expected:
        raise ForeignResultsError(f"{path} has no line {min(expected)}, recorded there")
    return total, pending, invalid


def pending_requests(
    path: Path, flow_id: str, skip: set[int]
) -> Iterator[tuple[int, str, RunRequest]]:
    """The runs still to start, lazily, with their line numbers and digests (lines in
    ``skip`` left out)."""
    for number, text in _numbered_lines(path):
        if number not in skip:
            yield number, line_digest(text), parse_line(text, flow_id)


def read_results(path: Path) -> dict[int, dict[str, Any]]:
    """The last record of each line in a results file (none when the file does not exist).

    A record cut short (the process was killed while writing it) is left out.
    """
    return read_batch(path).records


@attrs.define
class TornRecord:
    """A record cut short: where it is in the results file, and what could be read of it."""

    position: int
    at_end: bool
    line: int | None
    tag: str | None

    def note(self, path: Path) -> str:
        """One line for stderr saying where the record is and what is done about it."""
        where = f"{path}:{self.position}: a record cut short"
        if self.at_end:
            where += " at the end of the file (the process was stopped while writing it)"
        else:
            where += " in the middle of the file (a crash or a full disk while writing it)"
        if self.line is None:
            return f"{where}; its input line cannot be read, it is ignored"
        return f"{where}; input line {self.line} is looked up by its request tag"


@attrs.define
class LineState:
    """What a results file says about one input line."""

    #: The last record of the line.
    last: dict[str, Any]
    #: The record of the run started for the line, if one is recorded.
    run: dict[str, Any] | None = None
    #: The request tags of the line's starts not known to have started a run, with the
    #: time each was recorded, if known (a start may have been sent under each).
    tags: list[tuple[str, datetime | None]] = attrs.Factory(list)
    #: The digest of the input line recorded with its intents.
    digest: str | None = None
    #: Extra fields of the line's intents (``rerun_of``).
    extra: dict[str, Any] = attrs.Factory(dict)


@attrs.define
class BatchLog:
    """A results file read whole: the state of each line and the records cut short."""

    lines: dict[int, LineState] = attrs.Factory(dict)
    torn: list[TornRecord] = attrs.Factory(list)

    @property
    def records(self) -> dict[int, dict[str, Any]]:
        """The last record of each line."""
        return {line: state.last for line, state in self.lines.items()}

    def started(self) -> set[int]:
        """The lines a recorded run was started for."""
        return {line for line, state in self.lines.items() if state.run is not None}

    def unfinished(self) -> dict[int, LineState]:
        """The lines whose starts may have started a run nobody recorded: to look up."""
        return {
            line: state for line, state in self.lines.items() if state.run is None and state.tags
        }


_TORN_LINE = re.compile(r'\{"line": (\d+)')
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_TORN_TAG = re.compile(re.escape(REQUEST_TAG_PREFIX) + _UUID)


def read_batch(path: Path) -> BatchLog:
    """Read a results file (an empty log when it does not exist); raises :class:`InputError`
    when it is not one."""
    log = BatchLog()
    if not path.exists():
        return log
    lines = path.read_text(encoding="utf-8").splitlines()
    last = len(lines)
    while last and not lines[last - 1].strip():
        last -= 1
    for position, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError:
            if not text.startswith(_RECORD_START):
                raise InputError(f"{path}:{position} is not a JSON line of results") from None
            _torn(log, position, position == last, text)
            continue
        if not isinstance(record, dict) or not isinstance(record.get("line"), int):
            raise InputError(f"{path}:{position} is not a record of a batch start")
        _apply(log, record)
    return log


def _torn(log: BatchLog, position: int, at_end: bool, text: str) -> None:
    number = _TORN_LINE.match(text)
    tag = _TORN_TAG.search(text)
    torn = TornRecord(
        position, at_end, int(number.group(1)) if number else None, tag.group(0) if tag else None
    )
    log.torn.append(torn)
    if torn.line is None or (torn.line in log.lines and log.lines[torn.line].run is not None):
        return
    state = log.lines.setdefault(torn.line, LineState(last={"line": torn.line}))
    if torn.tag is not None and torn.tag not in {known for known, _ in state.tags}:
        # When it was recorded is unknown: the look-up goes back from the file's oldest intent.
        state.tags.append((torn.tag, None))


def _apply(log: BatchLog, record: dict[str, Any]) -> None:
    line = record["line"]
    state = log.lines.get(line)
    if state is None:
        state = log.lines[line] = LineState(last=record)
    state.last = record
    tag = record.get("intent")
    if isinstance(tag, str):
        state.tags.append((tag, _time(record.get("at"))))
        digest = record.get("input")
        state.digest = digest if isinstance(digest, str) else state.digest
        state.extra = {key: record[key] for key in _INTENT_EXTRA if key in record}
    elif "run_id" in record:
        state.run = record
        state.tags.clear()
    elif _started_nothing(record.get("error")):
        state.tags.clear()


_INTENT_EXTRA = ("rerun_of",)
# Errors after which no run exists: no connection could be made (every attempt's, or the
# look-up before a resend found none), or the service refused the start (4xx).
_NOTHING_STARTED = frozenset({"ConnectError", "ConnectTimeoutError"})


def _started_nothing(error: Any) -> bool:
    """Whether a recorded error shows that its start made no run (nothing to look up)."""
    if not isinstance(error, dict):
        return False
    status = error.get("http_status")
    if isinstance(status, int) and 400 <= status < 500:
        return True
    return error.get("type") in _NOTHING_STARTED


def line_digest(text: str) -> str:
    """A short digest of an input line, recorded with its intents: a results file is only
    resumed with the input file it was written for."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:16]


def intent_record(
    line: int, tag: str, flow_id: str, *, digest: str | None = None, **extra: Any
) -> dict[str, Any]:
    """The record written (and synced) before the start of ``line`` is sent under ``tag``."""
    return {
        "line": line,
        "intent": tag,
        "flow_id": flow_id,
        **({"input": digest} if digest is not None else {}),
        **extra,
        "at": datetime.now(UTC).isoformat(),
    }


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


def run_record(
    line: int, run: Run | None, error: BaseException | str | None, *, tag: str | None = None
) -> dict[str, Any]:
    """The results-file record of one input line (``tag``: the request tag it was sent with)."""
    record: dict[str, Any] = {"line": line}
    if tag is not None:
        record["tag"] = tag
    if run is not None:
        record.update(
            run_id=run.run_id,
            flow_id=run.flow_id,
            status=run.status,
            label=run.label,
            start_time=run.start_time.isoformat() if run.start_time else None,
        )
    elif isinstance(error, BaseException):
        record["error"] = error_document(error)
    else:
        record["error"] = {"type": "InvalidInputLine", "message": str(error)}
    return record


class ResultsWriter:
    """Appends records to a results file.

    Every record is flushed to the operating system as soon as it is written, so a killed
    process loses none that were written. :meth:`intent` also waits until the record is on
    disk (``fsync``), so a start is never sent before its intent would survive a crash; the
    intents written meanwhile by other starts share that ``fsync``.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[str] | None = None
        self._written = 0
        self._synced = 0
        self._syncing: anyio.Lock | None = None

    def __enter__(self) -> ResultsWriter:
        return self

    def _open(self) -> IO[str]:
        # Opened at the first record: a command that writes nothing leaves no file behind.
        if self._file is not None:
            return self._file
        # A record cut short by a kill has no newline: start on a fresh line.
        cut_short = False
        if self._path.exists() and self._path.stat().st_size > 0:
            with self._path.open("rb") as existing:
                existing.seek(-1, os.SEEK_END)
                cut_short = existing.read(1) != b"\n"
        self._file = self._path.open("a", encoding="utf-8")
        if cut_short:
            self._file.write("\n")
        return self._file

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def write(self, record: dict[str, Any]) -> None:
        """Append one record and flush it."""
        file = self._open()
        text = json.dumps(record, ensure_ascii=False)
        assert text.startswith(_RECORD_START)
        file.write(text + "\n")
        file.flush()
        self._written += 1

    async def intent(self, record: dict[str, Any]) -> None:
        """Append one record and return once it is on disk."""
        self.write(record)
        wanted = self._written
        if self._syncing is None:
            self._syncing = anyio.Lock()
        async with self._syncing:
            if self._synced >= wanted:
                return  # another start's fsync, begun after this write, covered it
            assert self._file is not None
            covered = self._written
            # Shielded: an interrupted fsync would leave the count wrong for the others.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(os.fsync, self._file.fileno())
            self._synced = covered
