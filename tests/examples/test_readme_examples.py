"""The README's examples as a user meets them: copied into files and run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import examples.fastapi_app

ROOT = Path(__file__).resolve().parents[2]


def section_code(heading: str, language: str = "python") -> str:
    """The first ``language`` block of the README section under ``## heading``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert match is not None, f"no {language} block under {heading!r}"
    return match.group(1)


def test_the_emulator_example_passes_under_plain_pytest(tmp_path: Path) -> None:
    (tmp_path / "test_readme_example.py").write_text(section_code("Testing with the emulator"))
    environ = dict(os.environ)
    # The checkout's package, wherever pytest is run from (an installed one wins in CI).
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [environ.get("PYTHONPATH"), str(ROOT)]))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_readme_example.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # Passed (on each backend the installed anyio plugin runs), nothing skipped or warned.
    assert re.fullmatch(r"\d+ passed in [\d.]+s", done.stdout.splitlines()[-1]), done.stdout


def test_the_fastapi_example_comes_with_an_extra_and_its_own_port() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[<>=\[ ]", requirement)[0] for requirement in extras["examples"]}
    assert names == {"fastapi", "uvicorn"}
    doc = examples.fastapi_app.__doc__ or ""
    assert 'pip install ".[examples]"' in doc
    serve = re.search(r"globus_runs\.testing serve --port (\d+)", doc)
    app = re.search(r"uvicorn examples\.fastapi_app:app --port (\d+)", doc)
    assert serve is not None
    assert app is not None
    assert serve.group(1) != app.group(1)
    assert f"http://127.0.0.1:{serve.group(1)}/flows/" in doc
