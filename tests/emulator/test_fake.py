"""The `FakeGlobus` Python API: flows, bulk runs, tokens, URLs and the pytest fixture."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from globus_runs.testing import FakeGlobus, FlowBehavior

from ._support import START


def test_add_flow_returns_its_id_and_keeps_its_behaviour(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow(flow_id="my-flow", duration=3, outcome="FAILED", steps=1)
    assert flow_id == "my-flow"
    behavior = fake.flows[flow_id].behavior
    assert behavior == FlowBehavior(duration=3, outcome="FAILED", steps=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration": 5, "inactive_after": 5},
        {"duration": -1},
        {"steps": -1},
        {"outcome": "CANCELED"},
    ],
)
def test_add_flow_refuses_impossible_behaviours(
    fake: FakeGlobus, kwargs: dict[str, object]
) -> None:
    with pytest.raises((ValueError, TypeError)):
        fake.add_flow(**kwargs)  # type: ignore[arg-type]


def test_add_runs_spreads_start_times_before_now(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow(duration=100)
    ids = fake.add_runs(flow_id, 3, interval=2, label="batch {i}")
    starts = [fake.runs[run_id].start_time for run_id in ids]
    assert starts == [START - timedelta(seconds=s) for s in (6, 4, 2)]
    documents = [fake.get_run_document(run_id) for run_id in ids]
    assert [d["label"] for d in documents] == ["batch 0", "batch 1", "batch 2"]
    assert {d["status"] for d in documents} == {"ACTIVE"}


def test_add_runs_overrides_duration_and_outcome_per_run(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow(duration=100)
    ids = fake.add_runs(
        flow_id, 3, start=START, duration=[1, 2, 200], outcome=["SUCCEEDED", "FAILED", "ENDED"]
    )
    fake.clock.advance(10)
    statuses = [fake.get_run_document(run_id)["status"] for run_id in ids]
    assert statuses == ["SUCCEEDED", "FAILED", "ACTIVE"]
    with pytest.raises(ValueError, match="one per run"):
        fake.add_runs(flow_id, 2, duration=[1])


def test_add_runs_sets_owner_and_roles(fake: FakeGlobus) -> None:
    flow_id = fake.add_flow()
    manager = "urn:globus:auth:identity:00000000-0000-0000-0000-000000000001"
    [run_id] = fake.add_runs(flow_id, 1, owner="someone", run_managers=[manager], tags=["t"])
    document = fake.get_run_document(run_id)
    assert document["run_owner"] == "urn:globus:auth:identity:someone"
    assert (document["run_managers"], document["tags"]) == ([manager], ["t"])
    assert document["user_role"] == "run_owner"
    as_manager = fake.get_run_document(run_id, identity_id=manager)
    assert as_manager["user_role"] == "run_manager"
    assert fake.get_run_document(run_id, identity_id="stranger")["user_role"] is None


def test_get_run_document_can_include_the_flow_description(fake: FakeGlobus) -> None:
    [run_id] = fake.add_runs(fake.add_flow(title="Described"), 1)
    document = fake.get_run_document(run_id, include_flow_description=True)
    assert document["flow_description"]["title"] == "Described"
    with pytest.raises(KeyError):
        fake.get_run_document("unknown")


def test_runs_and_flows_are_read_only_views(fake: FakeGlobus) -> None:
    [run_id] = fake.add_runs(fake.add_flow(), 1)
    assert list(fake.runs) == [run_id]
    with pytest.raises(TypeError):
        fake.runs["x"] = fake.runs[run_id]  # type: ignore[index]


def test_urls_for_an_origin(fake: FakeGlobus) -> None:
    assert fake.urls("http://127.0.0.1:8123/") == {
        "flows_url": "http://127.0.0.1:8123/flows/",
        "timers_url": "http://127.0.0.1:8123/timers/",
        "auth_url": "http://127.0.0.1:8123/auth/",
    }
    assert (fake.flows_url, fake.timers_url, fake.auth_url) == (
        "http://127.0.0.1/flows/",
        "http://127.0.0.1/timers/",
        "http://127.0.0.1/auth/",
    )


def test_tokens_belong_to_identities(fake: FakeGlobus) -> None:
    assert fake.token == "test-token"
    grant = fake.tokens.authenticate(f"Bearer {fake.token}", START)
    assert (grant.identity_id, grant.resource_servers) == (fake.identity_id, None)
    token = fake.issue_token(resource_servers={"flows.globus.org"})
    other = fake.tokens.authenticate(f"Bearer {token}", START)
    assert other.identity_id != fake.identity_id
    assert other.allows("flows.globus.org")
    assert not other.allows("some-flow-id")


def test_the_pytest_plugin_provides_a_fresh_fake(tmp_path: Path) -> None:
    (tmp_path / "test_uses_fixture.py").write_text(
        "from globus_runs.testing import FakeGlobus\n"
        "def test_it(fake_globus):\n"
        "    assert isinstance(fake_globus, FakeGlobus)\n"
        "    assert fake_globus.runs == {}\n"
    )
    plugin = "globus_runs.testing._plugin"
    installed = any(ep.value == plugin for ep in entry_points(group="pytest11"))
    load = [] if installed else ["-p", plugin]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *load],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
