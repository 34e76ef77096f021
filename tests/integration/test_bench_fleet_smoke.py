"""The fleet benchmark still runs (tiny sizes; only its request counts are checked)."""

from __future__ import annotations

import anyio

from benchmarks import bench_fleet


def test_bulk_cancel_case_counts_the_requests_of_each_side() -> None:
    results = anyio.run(bench_fleet.bulk_cancel, 20, 0.0)

    assert (results["update_runs"]["requests"], results["update_runs"]["canceled"]) == (1, 20)
    assert (results["batch_cancel_runs"]["requests"], results["batch_cancel_runs"]["canceled"]) == (
        20,
        20,
    )


def test_telemetry_case_measures_the_three_settings() -> None:
    results = anyio.run(bench_fleet.telemetry, 3, 1)

    assert {"off_us", "request_hook_us", "opentelemetry_us"} <= set(results)
    assert results["opentelemetry_us"] > 0
