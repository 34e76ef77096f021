"""The fault matrix: batches of operations through the emulator, one fault class at a time.

For each fault class the emulator injects that fault into 15% of the requests, drawn from a
seeded generator (rate limits, 5xx, dropped connections, slow, malformed and truncated
answers, proxy HTML pages),
and four batches go through it: ``batch_get_runs``, ``batch_cancel_runs`` and
``batch_run_flows`` with the default retry policy, and ``batch_run_flows`` with
``RetryPolicy(exactly_once_starts=True)``. Every item is then classified: succeeded at the
first request or after retries and look-ups, failed with a typed error, failed with anything
else, or lost. Starts are matched with the runs the emulator holds (duplicates, runs left
behind by a failed start), cancels with the runs it cancelled.

``tests/reliability/test_fault_matrix.py`` asserts the invariants on both anyio backends;
``python -m tests.reliability.matrix`` prints the figures as a table::

    python -m tests.reliability.matrix --ops 2000 --backend asyncio --backend trio

By default the client reaches each emulator in-process (its ASGI transport, through httpx);
with ``--loopback`` each emulator is served on 127.0.0.1 from a thread (uvicorn) and the
client uses a connection pool of its own, so the faults travel over real sockets through the
client's own HTTP/1.1 connections.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import anyio
import attrs

from globus_runs import BatchResult, FlowsClient, GlobusRunsError, RetryPolicy, Run, RunRequest
from globus_runs.testing import FakeClock, FakeGlobus, FaultKind, Faults, serve_in_thread

__all__ = [
    "FAULT_CLASSES",
    "ClassFigures",
    "FaultClass",
    "OperationFigures",
    "format_table",
    "main",
    "run_fault_class",
]

Operation = Literal["get", "cancel", "start", "start exactly-once"]
OPERATIONS: tuple[Operation, ...] = ("get", "cancel", "start", "start exactly-once")

PROBABILITY = 0.15
SEED = 20260301
CONCURRENCY = 50
OPS_PER_OPERATION = 500  # four operations: 2,000 per fault class
# Retries as fast as the emulator allows; a Retry-After of the fault's size is honoured.
# Faults fall on requests, not items: with 15% of requests faulted, an item meets six in a row
# (the default policy's five retries spent) about once in 90,000, so about one 500-item batch
# in 175 would end with an item failed by chance, not by a broken invariant. Twelve retries
# make that about one item in 50 billion.
FAST_RETRY: Mapping[str, Any] = {
    "max_retries": 12,
    "backoff_initial": 0.001,
    "backoff_max": 0.005,
    "retry_after_max": 1.0,
}
# The read timeout a "slow" answer outlasts, and how late that answer would come.
SLOW_TIMEOUT = 2.0  # far above what an answer takes on a loaded machine
SLOW_DELAY = 6.0


@attrs.frozen
class FaultClass:
    """One row of the matrix: the fault kinds injected (one of them per faulty request)."""

    name: str
    kinds: tuple[FaultKind, ...]
    options: Mapping[str, Any] = attrs.field(factory=dict)
    timeout: float | None = None  # the client's timeout; None keeps the default

    def inject(self, faults: Faults, probability: float) -> None:
        """Add rules hitting ``probability`` of the requests, split evenly among the kinds."""
        share = probability / len(self.kinds)
        for number, kind in enumerate(self.kinds):
            # Rules are tried in order: rule n only sees the requests the earlier ones spared.
            faults.add(kind, probability=share / (1.0 - number * share), **self.options)


FIVE_XX: tuple[FaultKind, ...] = ("500", "502", "503", "504")

FAULT_CLASSES: tuple[FaultClass, ...] = (
    FaultClass("429", ("429",), {"retry_after": 0.01}),
    FaultClass("5xx", FIVE_XX),
    FaultClass("5xx processed", FIVE_XX, {"processed": True}),
    FaultClass("html", ("html",)),
    FaultClass("reset_before", ("reset_before",)),
    FaultClass("reset_after", ("reset_after",)),
    FaultClass("slow", ("slow",), {"delay": SLOW_DELAY}, timeout=SLOW_TIMEOUT),
    FaultClass("malformed", ("malformed",)),
    FaultClass("truncated", ("truncated",)),
)


@attrs.define
class OperationFigures:
    """What became of one batch's items.

    ``first_try``: succeeded at the first request. ``recovered``: succeeded after retries
    (or, for exactly-once starts, a look-up). ``typed_failures``: failed with a
    :class:`GlobusRunsError`. ``untyped_failures``: failed with anything else (must be 0).
    ``lost``: an input without a result, or a result with neither value nor error (must be 0).
    ``mismatched``: a success whose run is not the one asked for (must be 0).
    ``duplicates``: runs beyond one per start request. ``left_behind``: failed starts whose run
    exists anyway, or failed cancels that did cancel the run.
    """

    operation: Operation
    attempted: int = 0
    first_try: int = 0
    recovered: int = 0
    typed_failures: int = 0
    untyped_failures: int = 0
    lost: int = 0
    mismatched: int = 0
    duplicates: int = 0
    left_behind: int = 0
    requests: int = 0
    faults: int = 0
    faults_by_kind: Counter[str] = attrs.field(factory=Counter)
    errors: Counter[str] = attrs.field(factory=Counter)
    untyped: list[str] = attrs.field(factory=list)
    seconds: float = 0.0

    @property
    def succeeded(self) -> int:
        return self.first_try + self.recovered

    def as_json(self) -> dict[str, Any]:
        document = attrs.asdict(self)
        document["errors"] = dict(self.errors)
        document["faults_by_kind"] = dict(self.faults_by_kind)
        document["succeeded"] = self.succeeded
        return document


@attrs.define
class ClassFigures:
    """The figures of every operation under one fault class."""

    fault: str
    backend: str
    operations: dict[str, OperationFigures] = attrs.field(factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "backend": self.backend,
            "operations": {name: op.as_json() for name, op in self.operations.items()},
        }


def _classify(
    figures: OperationFigures,
    results: Sequence[BatchResult[Run]],
    inputs: Sequence[Any],
    requests_per_item: Counter[int],
) -> dict[int, BatchResult[Run]]:
    """Count first tries, recoveries, failures and losses; return the results by index."""
    figures.attempted = len(inputs)
    by_index: dict[int, BatchResult[Run]] = {}
    for result in results:
        if 0 <= result.index < len(inputs) and result.input is inputs[result.index]:
            by_index.setdefault(result.index, result)
    for index in range(len(inputs)):
        found = by_index.get(index)
        if found is None or (found.value is None and found.error is None):
            figures.lost += 1
        elif found.error is None:
            if requests_per_item[index] <= 1:
                figures.first_try += 1
            else:
                figures.recovered += 1
        elif isinstance(found.error, GlobusRunsError):
            figures.typed_failures += 1
            figures.errors[type(found.error).__name__] += 1
        else:
            figures.untyped_failures += 1
            figures.untyped.append(repr(found.error))
    return by_index


class _Batch:
    """One operation's batch against its own emulator, which injects the fault class."""

    def __init__(
        self,
        fault: FaultClass,
        operation: Operation,
        *,
        ops: int,
        probability: float,
        seed: int,
        loopback: bool = False,
    ) -> None:
        self.fault = fault
        self.ops = ops
        self.loopback = loopback
        self._served: dict[str, Any] | None = None
        self.figures = OperationFigures(operation)
        self.fake = FakeGlobus(clock=FakeClock())  # still: runs stay ACTIVE
        fault.inject(self.fake.faults, probability)
        self.fake.faults.seed(seed + OPERATIONS.index(operation))

    def client(self, *, exactly_once: bool) -> FlowsClient:
        options: dict[str, Any] = {
            "retry": RetryPolicy(**FAST_RETRY, exactly_once_starts=exactly_once),
            "concurrency": CONCURRENCY,
        }
        if self.fault.timeout is not None:
            options["timeout"] = self.fault.timeout
        if self._served is not None:
            served = self._served
            return FlowsClient(authorizer=served["token"], base_url=served["flows_url"], **options)
        return self.fake.flows_client(**options)

    async def _timed(
        self, batch: Callable[[Sequence[Any]], Awaitable[list[BatchResult[Run]]]], items: Any
    ) -> list[BatchResult[Run]]:
        """Run ``batch(items)``, noting the time it took and the requests and faults it saw."""
        started = time.perf_counter()
        results = await batch(items)
        self.figures.seconds = time.perf_counter() - started
        self.figures.requests = len(self.fake.requests)
        self.figures.faults = self.fake.faults.fired
        self.figures.faults_by_kind = Counter(self.fake.faults.stats)
        return results

    async def run(self) -> OperationFigures:
        if not self.loopback:
            await self._run()
            return self.figures
        with serve_in_thread(self.fake) as served:
            self._served = served
            try:
                await self._run()
            finally:
                self._served = None
        return self.figures

    async def _run(self) -> None:
        if self.figures.operation in ("get", "cancel"):
            await self._by_run_id()
        else:
            await self._starts()

    async def _by_run_id(self) -> None:
        """``batch_get_runs`` or ``batch_cancel_runs`` over ACTIVE runs."""
        fake, figures = self.fake, self.figures
        cancel = figures.operation == "cancel"
        run_ids = fake.add_runs(fake.add_flow(duration=1e9), self.ops)
        position = {run_id: index for index, run_id in enumerate(run_ids)}
        async with self.client(exactly_once=False) as flows:
            results = await self._timed(
                flows.batch_cancel_runs if cancel else flows.batch_get_runs, run_ids
            )
        suffix, method = ("/cancel", "POST") if cancel else ("", "GET")
        counts: Counter[int] = Counter()
        for request in fake.requests:
            run_id = request.path.removeprefix("/runs/").removesuffix(suffix)
            if request.method == method and request.path.endswith(suffix) and run_id in position:
                counts[position[run_id]] += 1
        by_index = _classify(figures, results, run_ids, counts)
        for index, run_id in enumerate(run_ids):
            result = by_index.get(index)
            if result is None:
                continue
            if result.value is not None and result.value.run_id != run_id:
                figures.mismatched += 1
            if cancel and result.error is not None:
                figures.left_behind += fake.flows_service.runs[run_id].canceled_at is not None

    async def _starts(self) -> None:
        """``batch_run_flows``, each request labelled so that its runs can be counted."""
        fake, figures = self.fake, self.figures
        flow_id = fake.add_flow(duration=1e9)
        requests = [
            RunRequest(flow_id, {"item": index}, label=f"item-{index:06d}")
            for index in range(self.ops)
        ]
        position = {request.label: index for index, request in enumerate(requests)}
        async with self.client(exactly_once=figures.operation == "start exactly-once") as flows:
            results = await self._timed(flows.batch_run_flows, requests)
        counts: Counter[int] = Counter()
        for sent in fake.requests:
            if sent.method == "POST" and sent.path == f"/flows/{flow_id}/run":
                label = sent.json.get("label") if isinstance(sent.json, dict) else None
            elif sent.method == "GET" and sent.path == "/runs":
                label = sent.params.get("filter_label")  # an exactly-once look-up
            else:
                continue
            if label in position:
                counts[position[label]] += 1
        by_index = _classify(figures, results, requests, counts)
        started: dict[str | None, list[str]] = {}
        for run in fake.flows_service.runs.values():
            started.setdefault(run.label, []).append(run.run_id)
        for index, request in enumerate(requests):
            runs = started.get(request.label, [])
            figures.duplicates += max(0, len(runs) - 1)
            result = by_index.get(index)
            if result is None:
                continue
            if result.value is not None and result.value.run_id not in runs:
                figures.mismatched += 1
            if result.error is not None and runs:
                figures.left_behind += 1


async def run_fault_class(
    fault: FaultClass,
    *,
    ops: int = OPS_PER_OPERATION,
    probability: float = PROBABILITY,
    seed: int = SEED,
    backend: str,
    loopback: bool = False,
) -> ClassFigures:
    """Send a batch of ``ops`` items of each operation through emulators injecting ``fault``.

    The four batches run side by side, each against its own emulator (served on loopback
    sockets with ``loopback``).
    """
    batches = [
        _Batch(fault, operation, ops=ops, probability=probability, seed=seed, loopback=loopback)
        for operation in OPERATIONS
    ]
    async with anyio.create_task_group() as tg:
        for batch in batches:
            tg.start_soon(batch.run)
    figures = ClassFigures(fault.name, backend)
    figures.operations = {batch.figures.operation: batch.figures for batch in batches}
    return figures


# -- the table --------------------------------------------------------------------------

_COLUMNS = (
    ("fault", "fault"),
    ("operation", "operation"),
    ("attempted", "attempted"),
    ("ok 1st try", "first_try"),
    ("ok after retry", "recovered"),
    ("typed failures", "typed_failures"),
    ("other failures", "untyped_failures"),
    ("lost", "lost"),
    ("duplicate runs", "duplicates"),
    ("done despite error", "left_behind"),
    ("requests", "requests"),
    ("faults injected", "faults"),
)


def _row(figures: ClassFigures, op: OperationFigures) -> list[str]:
    values: dict[str, object] = {"fault": figures.fault, **attrs.asdict(op)}
    cells = [str(values[key]) for _, key in _COLUMNS]
    if not op.operation.startswith("start"):
        cells[8] = "n/a"
    return cells


def format_table(rows: Sequence[ClassFigures]) -> str:
    """A Markdown table: one line per fault class and operation."""
    header = [title for title, _ in _COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for figures in rows:
        for op in figures.operations.values():
            lines.append("| " + " | ".join(_row(figures, op)) + " |")
    return "\n".join(lines)


def _error_summary(rows: Sequence[ClassFigures]) -> str:
    lines = []
    for figures in rows:
        for op in figures.operations.values():
            if op.errors:
                kinds = ", ".join(f"{name} {n}" for name, n in sorted(op.errors.items()))
                lines.append(f"- {figures.fault} / {op.operation}: {kinds}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.matrix", description=__doc__)
    parser.add_argument("--ops", type=int, default=OPS_PER_OPERATION, help="items per batch")
    parser.add_argument("--probability", type=float, default=PROBABILITY)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--backend", action="append", choices=["asyncio", "trio"])
    parser.add_argument("--fault", action="append", choices=[f.name for f in FAULT_CLASSES])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--loopback", action="store_true", help="serve the emulators on 127.0.0.1 sockets"
    )
    args = parser.parse_args(argv)
    classes = [f for f in FAULT_CLASSES if not args.fault or f.name in args.fault]
    documents: list[dict[str, Any]] = []
    for backend in args.backend or ["asyncio"]:
        rows = []
        for fault in classes:

            async def one(fault: FaultClass = fault, backend: str = backend) -> ClassFigures:
                return await run_fault_class(
                    fault,
                    ops=args.ops,
                    probability=args.probability,
                    seed=args.seed,
                    backend=backend,
                    loopback=args.loopback,
                )

            rows.append(anyio.run(one, backend=backend))
        documents.extend(row.as_json() for row in rows)
        if not args.json:
            print(
                f"\n### {backend}{', loopback' if args.loopback else ''}: {args.ops} items "
                f"per batch, fault probability {args.probability}, concurrency {CONCURRENCY}\n"
            )
            print(format_table(rows))
            print("\nTyped errors:\n")
            print(_error_summary(rows))
    if args.json:
        json.dump(documents, sys.stdout, indent=2)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
