"""The library does not need the command line's dependencies; the command says what is missing."""

from __future__ import annotations

import subprocess
import sys

# Makes every import of click and rich fail, as when the ``cli`` extra is not installed.
WITHOUT_CLI_EXTRA = "import sys; sys.modules['click'] = sys.modules['rich'] = None; "


def python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_CLI_EXTRA + code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_library_imports_without_click_and_rich() -> None:
    done = python(
        "import globus_runs, globus_runs.testing, globus_runs.demo, globus_runs.cli; "
        "assert 'click' not in dir() and sys.modules['rich'] is None; print('ok')"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"


def test_the_command_says_which_extra_to_install() -> None:
    done = python("from globus_runs.cli import main; main(['--help'])")
    assert done.returncode == 1
    assert done.stderr == (
        "globus-runs: the command line needs the 'cli' extra: "
        'from a checkout, pip install ".[cli]"\n'
    )


def test_the_demo_says_it_needs_the_testing_extra() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['starlette'] = None; "
            "from globus_runs.cli import main; main(['demo'])",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Error: ")
    assert done.stderr.rstrip().endswith('from a checkout, pip install ".[cli,testing]"')
    assert done.stderr.count("\n") == 1


def test_python_m_demo_without_the_testing_extra_says_so_in_one_line() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, runpy; sys.modules['starlette'] = None; "
            "runpy.run_module('globus_runs.demo', run_name='__main__')",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        "Error: the emulator's app needs Starlette: install globus_runs with the 'testing' "
        'extra: from a checkout, pip install ".[testing]"\n'
    )
