"""The README's fleet operations example runs against the emulator and does what it says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from examples.fleet import emulated_campaign
from globus_runs.testing import FakeGlobus

pytestmark = pytest.mark.anyio

README = Path(__file__).resolve().parents[2] / "README.md"


def fleet_example() -> Any:
    """The ``operate`` function of the README's "Fleet operations" section."""
    section = README.read_text().split("## Fleet operations", 1)[1].split("\n## ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace["operate"]


async def test_the_readme_fleet_example_reruns_tags_and_cancels(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = FakeGlobus()
    flow_id = emulated_campaign(fake)

    async with fake.flows_client() as flows:
        await fleet_example()(flows, flow_id)

    assert capsys.readouterr().out.splitlines() == [
        "{'ACTIVE': 5, 'FAILED': 13, 'SUCCEEDED': 42} 87.0 [('ActionFailedException', 13)]",
        "18 canceled",
    ]
    reruns = [run for run in fake.runs.values() if "retry-1" in run.tags]
    assert len(reruns) == 13
    assert all(any(t.startswith("rerun-of:") for t in run.tags) for run in reruns)
