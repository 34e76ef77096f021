"""Developer sessions: ``nox`` runs lint, typecheck and the tests (on asyncio and trio)."""

from __future__ import annotations

import sys
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.17,<0.18")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the tests and this file."""
    session.install("-e", ".[typing]")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, every async test on both anyio backends (asyncio and trio), on as
    many worker processes as the machine has cores (``-- -n 0`` runs it in one process).

    globus-cli pins its own globus-sdk and click, so it gets a virtual environment of its own;
    the tests that drive it find its ``globus`` in ``GLOBUS_RUNS_TEST_GLOBUS_CLI`` and, with
    ``GLOBUS_RUNS_TEST_REQUIRE_GLOBUS_CLI=1``, fail rather than skip without it."""
    session.install("-e", ".[tests,speedups]")
    globus = _globus_cli(session)
    session.run(
        "pytest",
        "-n",
        "auto",
        *session.posargs,
        env={"GLOBUS_RUNS_TEST_GLOBUS_CLI": globus, "GLOBUS_RUNS_TEST_REQUIRE_GLOBUS_CLI": "1"},
    )


def _globus_cli(session: nox.Session) -> str:
    """Install globus-cli in a virtual environment inside the session's; its ``globus``."""
    location = Path(session.virtualenv.location) / "globus-cli"
    session.run("python", "-m", "venv", str(location))
    scripts = location / ("Scripts" if sys.platform == "win32" else "bin")
    python = str(scripts / "python")
    session.run(
        python,
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        "globus-cli>=3.44,<4",
        external=True,
    )
    return str(scripts / "globus")


@nox.session(name="tests-no-speedups")
def tests_no_speedups(session: nox.Session) -> None:
    """The unit tests without orjson, to check the standard-library JSON path."""
    session.install("-e", ".[tests]")
    session.run("pytest", "tests/unit", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Every benchmark (minutes; not run by default): writes benchmarks/results.json and
    benchmarks/throughput.png. Arguments go to the runner, e.g. ``-- --only overhead``."""
    # Every case's imports: the emulator (testing), OpenTelemetry's API and SDK (fleet), trustme
    # (the TLS runs of throughput) and the throughput case's contenders.
    session.install(
        "-e",
        ".[testing,speedups,otel]",
        "opentelemetry-sdk",
        "trustme",
        "globus-sdk",
        "matplotlib",
        "aiohttp",
        "httpx2",
    )
    session.run("python", "-m", "benchmarks.run", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation, API reference included (not run by default): mkdocs build --strict."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
