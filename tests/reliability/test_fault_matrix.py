"""The fault matrix's invariants, for every fault class, on both anyio backends.

Each fault class sends batches of gets, cancels and starts (default and exactly-once) through
an emulator injecting it into 15% of the requests (see ``matrix.py``); the figures are
computed once per class and backend and each test checks one invariant of them.
"""

from __future__ import annotations

import pytest

from .matrix import FAULT_CLASSES, OPS_PER_OPERATION, ClassFigures, FaultClass, run_fault_class

pytestmark = pytest.mark.anyio

_FIGURES: dict[tuple[str, str], ClassFigures] = {}

# Faults the transport retries for idempotent requests (reads and cancels).
RETRIED = frozenset({"429", "5xx", "5xx processed", "html", "reset_before", "reset_after", "slow"})
# Faults after which the service may already have carried the request out.
MAYBE_PROCESSED = frozenset({"5xx processed", "reset_after", "slow", "malformed", "truncated"})


@pytest.fixture(params=FAULT_CLASSES, ids=[fault.name for fault in FAULT_CLASSES])
def fault(request: pytest.FixtureRequest) -> FaultClass:
    """One fault class of the matrix."""
    chosen: FaultClass = request.param
    return chosen


@pytest.fixture
async def figures(fault: FaultClass, anyio_backend_name: str) -> ClassFigures:
    """The figures of ``fault`` on the current backend, computed once."""
    key = (fault.name, anyio_backend_name)
    if key not in _FIGURES:
        _FIGURES[key] = await run_fault_class(fault, backend=anyio_backend_name)
    return _FIGURES[key]


async def test_every_batch_had_faults_injected(figures: ClassFigures) -> None:
    for op in figures.operations.values():
        assert op.attempted == OPS_PER_OPERATION
        assert op.faults >= OPS_PER_OPERATION // 20, op.operation


async def test_no_item_is_lost(figures: ClassFigures) -> None:
    assert {name: op.lost for name, op in figures.operations.items()} == dict.fromkeys(
        figures.operations, 0
    )


async def test_every_success_is_the_item_asked_for(figures: ClassFigures) -> None:
    assert {name: op.mismatched for name, op in figures.operations.items()} == dict.fromkeys(
        figures.operations, 0
    )


async def test_every_failure_is_a_typed_error(figures: ClassFigures) -> None:
    untyped = {name: op.untyped for name, op in figures.operations.items() if op.untyped}
    assert untyped == {}


async def test_no_start_creates_a_second_run(figures: ClassFigures) -> None:
    duplicates = {
        name: figures.operations[name].duplicates for name in ("start", "start exactly-once")
    }
    assert duplicates == {"start": 0, "start exactly-once": 0}


async def test_exactly_once_failures_leave_no_run_behind(figures: ClassFigures) -> None:
    assert figures.operations["start exactly-once"].left_behind == 0


async def test_exactly_once_starts_all_succeed(figures: ClassFigures) -> None:
    op = figures.operations["start exactly-once"]
    assert (op.succeeded, dict(op.errors)) == (op.attempted, {})


async def test_default_starts_fail_rather_than_risk_a_second_run(figures: ClassFigures) -> None:
    op = figures.operations["start"]
    if figures.fault == "429":
        assert op.succeeded == op.attempted  # a 429 is never processed: retried
    else:
        assert op.typed_failures > 0
        assert op.recovered == 0  # no start was sent twice
    if figures.fault in MAYBE_PROCESSED:
        assert op.left_behind == op.typed_failures  # each failed start did start its run
    else:
        assert op.left_behind == 0


async def test_reads_ride_out_retried_faults(figures: ClassFigures) -> None:
    op = figures.operations["get"]
    if figures.fault in RETRIED:
        assert (op.succeeded, op.recovered > 0) == (op.attempted, True)
    else:
        # An unreadable 2xx is not retried: it is reported, typed, for that item only.
        assert dict(op.errors) == {"ResponseParseError": op.typed_failures}


async def test_cancels_ride_out_faults_the_service_did_not_act_on(figures: ClassFigures) -> None:
    op = figures.operations["cancel"]
    if figures.fault in RETRIED - MAYBE_PROCESSED:
        assert (op.succeeded, op.left_behind) == (op.attempted, 0)
    else:
        # Only the answer was lost: the run is canceled, the item reports why it cannot tell.
        assert op.left_behind == op.typed_failures


LOOPBACK_OPS = 60


@pytest.mark.parametrize(
    "fault",
    [
        fault
        for fault in FAULT_CLASSES
        if fault.name in {"reset_before", "reset_after", "slow", "truncated"}
    ],
    ids=lambda fault: fault.name,
)
async def test_over_loopback_sockets_nothing_is_lost_or_started_twice(
    fault: FaultClass, anyio_backend_name: str
) -> None:
    # The emulators served on 127.0.0.1, the client on a pool of its own: the faults travel
    # through real sockets and the client's own connections.
    figures = await run_fault_class(
        fault, ops=LOOPBACK_OPS, backend=anyio_backend_name, loopback=True
    )
    for name, op in figures.operations.items():
        assert op.attempted == LOOPBACK_OPS, name
        assert (op.lost, op.mismatched, op.untyped) == (0, 0, []), name
        assert op.faults > 0, name
    assert figures.operations["start"].duplicates == 0
    exactly_once = figures.operations["start exactly-once"]
    assert (exactly_once.duplicates, exactly_once.succeeded) == (0, LOOPBACK_OPS)
