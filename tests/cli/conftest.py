"""Fixtures for the command line's tests: the emulator in-process (``fake``, whose manual clock
starts at ``START``; see ``tests/conftest.py``), or served on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from click.testing import CliRunner, Result

from globus_runs.cli._app import cli
from globus_runs.cli._config import Settings
from globus_runs.testing import FakeClock, FakeGlobus, asgi_transport

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


def _invoker(obj: Settings | None, env: Mapping[str, str | None]) -> Invoke:
    def invoke(*args: str) -> Result:
        runner = CliRunner(env={**PLAIN_OUTPUT, **env})
        return runner.invoke(cli, list(args), obj=obj, catch_exceptions=False)

    return invoke


@pytest.fixture
def invoke(fake: FakeGlobus) -> Invoke:
    """Run ``globus-runs ARGS...`` in-process, against ``fake`` through its ASGI app."""
    settings = Settings(
        token=fake.token,
        flows_url=fake.flows_url,
        timers_url=fake.timers_url,
        auth_url=fake.auth_url,
        transport=asgi_transport(fake.app),
    )
    return _invoker(settings, {})


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
    """Run ``globus-runs ARGS...`` in-process, configured by ``env`` only."""
    return _invoker(None, env)


@pytest.fixture
def ticking_fake() -> FakeGlobus:
    """An emulator whose clock moves 5 emulated seconds with each request it answers, so its
    runs progress as the command line polls them, however busy the machine is."""
    return FakeGlobus(clock=FakeClock(START, per_request=5.0))


@pytest.fixture
def served(ticking_fake: FakeGlobus) -> Iterator[dict[str, Any]]:
    """``ticking_fake`` served on loopback from a thread; yields its startup line."""
    from globus_runs.testing import serve_in_thread

    with serve_in_thread(ticking_fake) as info:
        yield info
