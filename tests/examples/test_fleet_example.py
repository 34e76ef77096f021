"""``python -m examples.fleet`` does what the README's fleet operations section says."""

from __future__ import annotations

import pytest

from examples import fleet

pytestmark = pytest.mark.anyio


async def test_the_fleet_example_summarizes_reruns_tags_and_cancels(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await fleet.main()

    assert capsys.readouterr().out.splitlines() == [
        "60 runs: {'ACTIVE': 5, 'FAILED': 13, 'SUCCEEDED': 42}, 0 canceled",
        "median 87.0 s, p95 112.0 s",
        "failure codes: [('ActionFailedException', 13)]",
        "reran 13 of 13 failed runs",
        "tagged 13 runs in 1 request(s)",
        "18 canceled, 0 had already ended",
        "73 runs: {'FAILED': 31, 'SUCCEEDED': 42}, 18 canceled",
        "median 83.0 s, p95 3720.0 s",
        "failure codes: [('ActionFailedException', 13)]",
    ]
