"""Fixtures for the command line's tests: ``globus-runs`` run as users run it (its public entry
point, configured by the environment) against the emulator on loopback (``fake``, whose manual
clock starts at ``START``; see ``tests/conftest.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from globus_runs.cli import main
from globus_runs.testing import FakeClock, FakeGlobus, serve_in_thread

from ..conftest import START as START

# Rich reads these to decide whether the output is a terminal and how wide it is.
PLAIN_OUTPUT: dict[str, str | None] = {
    "FORCE_COLOR": None,
    "TTY_COMPATIBLE": None,
    "TTY_INTERACTIVE": None,
    "COLUMNS": None,
    "GLOBUS_RUNS_FORMAT": None,
}
CONFIG_VARIABLES = (
    "GLOBUS_RUNS_TOKEN",
    "GLOBUS_RUNS_CLIENT_ID",
    "GLOBUS_RUNS_CLIENT_SECRET",
    "GLOBUS_RUNS_SCOPES",
    "GLOBUS_RUNS_FLOWS_URL",
    "GLOBUS_RUNS_TIMERS_URL",
    "GLOBUS_RUNS_AUTH_URL",
    "GLOBUS_RUNS_ENVIRONMENT",
)

Invoke = Callable[..., Result]


def parse_json(result: Result) -> Any:
    """The JSON document a command wrote to stdout."""
    assert result.exit_code in (0, 3, 4), result.output
    return json.loads(result.stdout)


@pytest.fixture
def failing_flow_id(fake: FakeGlobus) -> str:
    """A flow whose runs fail after 10 s."""
    return fake.add_flow(title="Fails", duration=10.0, outcome="FAILED")


class GlobusRuns(click.Command):
    """The ``globus-runs`` command as installed (`globus_runs.cli.main`), in the shape click's
    test runner invokes."""

    def __init__(self) -> None:
        super().__init__("globus-runs")

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> Any:
        main(args)


GLOBUS_RUNS = GlobusRuns()


@pytest.fixture
def fake_globus_route() -> str:
    """The command line reaches the emulator as users' commands do: on its own connection
    pool, over loopback."""
    return "loopback"


@pytest.fixture
def invoke(fake: FakeGlobus) -> Invoke:
    """Run ``globus-runs ARGS...`` in-process against ``fake``, configured by the environment."""
    return env_invoker(served_env({**fake.urls(), "token": fake.token}))


def served_env(info: Mapping[str, Any], **extra: str | None) -> dict[str, str | None]:
    """The environment pointing the command line at a served emulator (its startup line)."""
    env: dict[str, str | None] = dict.fromkeys(CONFIG_VARIABLES)
    env.update(
        GLOBUS_RUNS_FLOWS_URL=info["flows_url"],
        GLOBUS_RUNS_TIMERS_URL=info["timers_url"],
        GLOBUS_RUNS_AUTH_URL=info["auth_url"],
        GLOBUS_RUNS_TOKEN=info["token"],
    )
    env.update(extra)
    return env


def env_invoker(env: Mapping[str, str | None]) -> Invoke:
    """Run ``globus-runs ARGS...`` in-process, configured by ``env`` only. Keywords are
    those of click's ``CliRunner.invoke`` (``input="..."`` for stdin)."""

    def invoke(*args: str, **options: Any) -> Result:
        runner = CliRunner(env={**PLAIN_OUTPUT, **env})
        return runner.invoke(GLOBUS_RUNS, list(args), catch_exceptions=False, **options)

    return invoke


@contextmanager
def serving(fake: FakeGlobus) -> Iterator[Invoke]:
    """Serve ``fake`` on loopback from a thread; run ``globus-runs`` against it meanwhile."""
    with serve_in_thread(fake) as info:
        yield env_invoker(served_env(info))


@pytest.fixture
def ticking_fake() -> FakeGlobus:
    """An emulator whose clock moves 5 emulated seconds with each request it answers, so its
    runs progress as the command line polls them, however busy the machine is."""
    return FakeGlobus(clock=FakeClock(START, per_request=5.0))


@pytest.fixture
def served(ticking_fake: FakeGlobus) -> Iterator[dict[str, Any]]:
    """``ticking_fake`` served on loopback from a thread; yields its startup line."""
    with serve_in_thread(ticking_fake) as info:
        yield info
