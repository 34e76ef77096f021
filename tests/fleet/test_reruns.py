"""``get_run_input`` and ``rerun_runs`` against the emulator."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from globus_runs import (
    FlowsClient,
    RetryPolicy,
    RunInputUnavailableError,
    RunNotFoundError,
)
from globus_runs.testing import FakeGlobus

from .conftest import START, client_for

pytestmark = pytest.mark.anyio


def campaign(fake: FakeGlobus, flow_id: str, n: int) -> dict[str, dict[str, int]]:
    """``n`` runs of ``flow_id``, each with its own input; every third one fails."""
    inputs = {}
    for index in range(n):
        [run_id] = fake.add_runs(
            flow_id,
            1,
            start=START + timedelta(seconds=index),
            body={"scan": index},
            label=f"scan {index}",
            tags=["campaign"],
            outcome="FAILED" if index % 3 == 0 else "SUCCEEDED",
        )
        inputs[run_id] = {"scan": index}
    return inputs


async def test_get_run_input_reads_the_flowstarted_entry(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow()
    [run_id] = fake.add_runs(flow_id, 1, body={"path": "/data/42"})

    assert await flows.get_run_input(run_id) == {"path": "/data/42"}
    [request] = [r for r in fake.requests if r.path.endswith("/log")]
    assert (request.path, request.query) == (f"/runs/{run_id}/log", [("limit", "1")])


async def test_rerun_of_the_failed_runs_of_a_300_run_campaign(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=10)
    inputs = campaign(fake, flow_id, 300)
    fake.clock.advance(400)  # past the last run's start (300 s) and its duration
    failed = await flows.list_all_runs(filter_flow_id=flow_id, filter_status="FAILED")
    fake.clear_requests()

    results = await flows.rerun_runs(failed)

    assert len(failed) == 100
    assert [r.input for r in results] == failed
    new_runs = [r.unwrap() for r in results]
    for old, new in zip(failed, new_runs, strict=True):
        stored = fake.runs[new.run_id]
        assert (stored.flow.flow_id, stored.body, new.label) == (
            flow_id,
            inputs[old.run_id],
            old.label,
        )
        assert new.tags == ["campaign", f"rerun-of:{old.run_id}"]
    paths = sorted({(r.method, r.path.rsplit("/", 1)[-1]) for r in fake.requests})
    assert paths == [("GET", "log"), ("POST", "run")]
    assert len(fake.requests) == 200


async def test_rerun_by_id_with_a_new_label_and_extra_tags(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow()
    [run_id] = fake.add_runs(flow_id, 1, body={"n": 1}, label="first", tags=["a"])

    [result] = await flows.rerun_runs([run_id], label="second", extra_tags=["retry-1"])

    new = result.unwrap()
    assert (new.label, new.tags) == ("second", ["a", "retry-1", f"rerun-of:{run_id}"])
    assert fake.runs[new.run_id].body == {"n": 1}


async def test_rerun_of_a_missing_run_is_that_items_error(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow()
    [run_id] = fake.add_runs(flow_id, 1)
    missing = str(uuid.uuid4())

    results = await flows.rerun_runs([missing, run_id])

    assert isinstance(results[0].error, RunNotFoundError)
    assert results[1].ok


async def test_exactly_once_rerun_is_not_started_twice_after_a_lost_answer(
    fake: FakeGlobus,
) -> None:
    # The look-up after a lost answer lists runs started within the last hour of this host's
    # clock: the emulator's clock must show the same time.
    fake.clock.advance(max(0.0, (datetime.now(UTC) - fake.clock.now()).total_seconds()))
    flow_id = fake.add_flow()
    [run_id] = fake.add_runs(flow_id, 1, body={"n": 7})
    fake.faults.add("reset_after", route=f"/flows/flows/{flow_id}/run", count=1)
    retry = RetryPolicy(exactly_once_starts=True, backoff_initial=0.001, backoff_max=0.005)

    async with client_for(fake, retry=retry) as flows:
        [result] = await flows.rerun_runs([run_id])

    reruns = [r for r in fake.runs.values() if f"rerun-of:{run_id}" in r.tags]
    assert [r.run_id for r in reruns] == [result.unwrap().run_id]
    assert len([r for r in fake.requests if r.path.endswith("/run")]) == 1


async def test_run_whose_log_does_not_start_with_flowstarted_has_no_input() -> None:
    run_id = str(uuid.uuid4())
    page = {
        "entries": [{"time": "2026-03-01T12:00:00+00:00", "code": "ActionStarted", "details": {}}],
        "has_next_page": False,
        "limit": 1,
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(page).encode())

    async with FlowsClient(
        authorizer="t", base_url="http://127.0.0.1:9", transport=httpx.MockTransport(answer)
    ) as flows:
        with pytest.raises(RunInputUnavailableError, match="'ActionStarted'") as caught:
            await flows.get_run_input(run_id)
    assert caught.value.run_id == run_id
