"""The closing line of a test session that ran the documentation's examples: how many README
blocks, guide blocks and docstring examples ran, and which blocks did not run and why.

Registered from the root ``conftest.py``, so that the line is printed also when the tests run
in several processes (pytest-xdist hands every report to the process that prints).
"""

from __future__ import annotations

import re

import pytest

_MODULE = "tests/docs/test_examples.py::"
_KINDS = {
    "test_readme_": "README blocks",
    "test_guide_": "guide blocks",
    "test_docstring_example": "docstring examples",
    "test_docstring_doctest": "docstring doctests",
}


class _Counts:
    def __init__(self) -> None:
        self.ran: dict[str, set[str]] = {kind: set() for kind in _KINDS.values()}
        self.failed: set[str] = set()
        self.not_run: dict[str, str] = {}

    def add(self, report: pytest.TestReport) -> None:
        if _MODULE not in report.nodeid:
            return
        name = report.nodeid.split("::", 1)[1]
        kind = next((k for prefix, k in _KINDS.items() if name.startswith(prefix)), None)
        if kind is None:
            return
        # One item per anyio backend: count the example once.
        example = re.sub(r"^(asyncio|trio)-|-(asyncio|trio)$", "", name.split("[", 1)[-1][:-1])
        if report.skipped and isinstance(report.longrepr, tuple):
            self.not_run[example] = str(report.longrepr[2]).removeprefix("Skipped: ")
        elif report.failed:
            self.failed.add(example)
        elif report.when == "call" and report.passed:
            self.ran[kind].add(example)

    def lines(self) -> list[str]:
        counts = ", ".join(
            f"{kind} run: {len(ran - self.failed)}" for kind, ran in self.ran.items()
        )
        excerpts = sorted(r for r in self.not_run.values() if _EXCERPT.search(r))
        not_run = sorted(r for r in self.not_run.values() if not _EXCERPT.search(r))
        lines = [
            f"docs examples: {counts}; excerpts of files the suite runs: {len(excerpts)}; "
            f"not run: {len(not_run)}"
        ]
        lines += [f"  {reason}" for reason in excerpts + not_run]
        return lines


_EXCERPT = re.compile(r"^\S+: an excerpt of ")
_COUNTS = _Counts()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _COUNTS.add(report)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if any(_COUNTS.ran.values()) or _COUNTS.not_run:
        for line in _COUNTS.lines():
            terminalreporter.write_line(line)
