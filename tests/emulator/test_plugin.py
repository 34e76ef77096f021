"""The shipped pytest plugin, as a user's suite sees it: ``fake_globus`` in-process by
default, and over loopback when ``fake_globus_route`` is parametrized."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

USER_TESTS = """
import threading

import pytest

from globus_runs.testing import FakeGlobus


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
@pytest.mark.parametrize("fake_globus_route", ["inprocess", "loopback"], indirect=True)
async def test_both_routes(fake_globus: FakeGlobus, fake_globus_route: str) -> None:
    served_on = []

    async def front(scope, receive, send):
        served_on.append(threading.get_ident())
        await fake_globus.app(scope, receive, send)

    flow_id = fake_globus.add_flow(duration=30)
    async with fake_globus.flows_client(app=front) as flows:
        run = await flows.run_flow(flow_id, {})
        fake_globus.clock.advance(30)
        assert (await flows.get_run(run.run_id)).status == "SUCCEEDED"
    in_this_thread = served_on == [threading.get_ident()] * 2
    assert in_this_thread is (fake_globus_route == "inprocess")


def test_the_default_route_is_in_process(fake_globus_route: str) -> None:
    assert fake_globus_route == "inprocess"


def test_the_clock_is_manual(fake_globus: FakeGlobus) -> None:
    before = fake_globus.clock.now()
    assert fake_globus.clock.now() == before
"""


def test_the_plugin_offers_both_routes_to_a_users_suite(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    plugin = "globus_runs.testing._plugin"
    installed = any(ep.value == plugin for ep in entry_points(group="pytest11"))
    load = [] if installed else ["-p", plugin]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *load],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
