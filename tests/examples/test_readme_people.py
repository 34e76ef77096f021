"""The README's example of runs that wait for a person runs as written and does what it says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Runs that wait for a person", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_the_readme_example_answers_a_web_input_and_resumes_the_paused_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _example()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Archive batch 42? ['Approve', 'Reject']"
    assert lines[1] == "approved run: SUCCEEDED"
    assert re.fullmatch(
        r"200 runs need consent to https://auth\.globus\.org/scopes/\S+_user", lines[2]
    )
    assert lines[3] == "200 resumed"
    assert len(lines) == 4
