"""The README's demo command completes and shows what it promises."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from globus_runs.demo import run_demo


def test_the_demo_module_runs_to_completion() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "globus_runs.demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert sum(line.startswith("  started ") for line in out.splitlines()) == 6
    assert "was_canceled=True" in out
    assert "status ACTIVE -> SUCCEEDED" in out
    assert "FlowCanceled" in out
    assert out.rstrip().endswith("Demo complete.")


@pytest.mark.anyio
async def test_the_demo_runs_in_process_on_both_backends() -> None:
    out = io.StringIO()
    await run_demo(out)
    assert "Demo complete." in out.getvalue()


@pytest.mark.anyio
async def test_the_demo_tells_the_same_story_every_time() -> None:
    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    stories = []
    for _ in range(3):
        out = io.StringIO()
        await run_demo(out)
        stories.append(uuid.sub("<id>", out.getvalue()))
    assert stories[1:] == stories[:-1]
    assert "was_canceled=True" in stories[0]
    assert "status ACTIVE -> SUCCEEDED" in stories[0]
    assert "on purpose" in stories[0].splitlines()[0]
