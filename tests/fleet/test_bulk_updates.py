"""``update_runs`` and ``bulk_cancel_runs`` over ``POST /batch/runs`` against the emulator."""

from __future__ import annotations

import uuid

import pytest

from globus_runs import (
    DEFAULT_CHUNK_SIZE,
    FlowsClient,
    InvalidIdError,
    InvalidRequestError,
    PermissionDeniedError,
    UnprocessableEntityError,
)
from globus_runs.testing import FakeGlobus

from .conftest import batch_requests

pytestmark = pytest.mark.anyio

LONG = 1e6  # runs that stay ACTIVE for the whole test


def urn(identity_id: str) -> str:
    return f"urn:globus:auth:identity:{identity_id}"


async def test_bulk_cancel_of_2000_runs_sends_four_requests(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=LONG)
    run_ids = fake.add_runs(flow_id, 2000)

    outcome = await flows.bulk_cancel_runs(run_ids)

    # The chunks are sent concurrently: they may arrive in any order.
    sent = sorted(
        batch_requests(fake), key=lambda r: run_ids.index(r.json["filters"]["run_ids"][0])
    )
    assert DEFAULT_CHUNK_SIZE == 500
    assert [r.json for r in sent] == [
        {"filters": {"run_ids": run_ids[start : start + 500]}, "set": {"status": "cancel"}}
        for start in range(0, 2000, 500)
    ]
    assert [r.status_code for r in sent] == [202] * 4
    assert [chunk.input for chunk in outcome.chunks] == [
        run_ids[start : start + 500] for start in range(0, 2000, 500)
    ]
    assert (outcome.ok, outcome.refused, outcome.confirmed) == (True, [], False)
    documents = [fake.get_run_document(run_id) for run_id in run_ids]
    assert {(d["status"], d["details"]["code"]) for d in documents} == {("FAILED", "FlowCanceled")}


async def test_update_runs_adds_and_removes_tags_in_one_request(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=LONG)
    run_ids = fake.add_runs(flow_id, 3, tags=["new", "beam"])

    results = await flows.update_runs(run_ids, add_tags=["checked"], remove_tags=["new"])

    assert [r.json for r in batch_requests(fake)] == [
        {"filters": {"run_ids": run_ids}, "add": {"tags": ["checked"]}, "remove": {"tags": ["new"]}}
    ]
    assert [(r.index, r.input, r.value) for r in results] == [(0, run_ids, run_ids)]
    assert [fake.runs[run_id].tags for run_id in run_ids] == [["beam", "checked"]] * 3


async def test_update_runs_sets_managers_and_monitors(fake: FakeGlobus, flows: FlowsClient) -> None:
    flow_id = fake.add_flow(duration=LONG)
    manager, monitor = urn(str(uuid.uuid4())), urn(str(uuid.uuid4()))
    [run_id] = fake.add_runs(flow_id, 1, run_monitors=[urn(str(uuid.uuid4()))])

    await flows.update_runs([run_id], set_run_managers=[manager], set_run_monitors=[monitor])

    assert batch_requests(fake)[0].json == {
        "filters": {"run_ids": [run_id]},
        "set": {"run_managers": [manager], "run_monitors": [monitor]},
    }
    assert (fake.runs[run_id].run_managers, fake.runs[run_id].run_monitors) == (
        [manager],
        [monitor],
    )


async def test_chunk_with_a_run_of_another_owner_is_refused_whole(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=LONG)
    mine = fake.add_runs(flow_id, 3)
    [theirs] = fake.add_runs(flow_id, 1, owner=str(uuid.uuid4()))

    results = await flows.update_runs([*mine, theirs], add_tags=["x"], chunk_size=2)

    assert [r.input for r in results] == [mine[:2], [mine[2], theirs]]
    assert results[0].ok
    error = results[1].error
    assert isinstance(error, PermissionDeniedError)
    assert (error.http_status, error.code) == (403, "FORBIDDEN")
    assert [fake.runs[run_id].tags for run_id in [*mine, theirs]] == [["x"], ["x"], [], []]


async def test_bad_principal_is_answered_422_with_its_location(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=LONG)
    run_ids = fake.add_runs(flow_id, 2)

    [result] = await flows.update_runs(run_ids, add_run_monitors=["someone"])

    assert isinstance(result.error, UnprocessableEntityError)
    assert result.error.http_status == 422
    assert any("body.add.run_monitors" in message for message in result.error.messages)
    assert [fake.runs[run_id].run_monitors for run_id in run_ids] == [[], []]


async def test_429_on_a_chunk_is_retried(fake: FakeGlobus, flows: FlowsClient) -> None:
    flow_id = fake.add_flow(duration=LONG)
    run_ids = fake.add_runs(flow_id, 4)
    fake.faults.add("429", route="/flows/batch/runs", count=1, retry_after=0.01)

    results = await flows.update_runs(run_ids, add_tags=["t"], chunk_size=2)

    assert [r.ok for r in results] == [True, True]
    assert sorted(r.status_code or 0 for r in batch_requests(fake)) == [202, 202, 429]
    assert {tuple(fake.runs[run_id].tags) for run_id in run_ids} == {("t",)}


async def test_ids_are_deduplicated_before_chunking(fake: FakeGlobus, flows: FlowsClient) -> None:
    flow_id = fake.add_flow(duration=LONG)
    run_ids = fake.add_runs(flow_id, 2)

    results = await flows.update_runs([run_ids[0], run_ids[1], run_ids[0]], add_tags=["t"])

    assert [r.input for r in results] == [run_ids]


async def test_a_non_uuid_id_is_refused_before_any_request(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    with pytest.raises(InvalidIdError, match="not a valid id"):
        await flows.update_runs(["not-a-run"], add_tags=["t"])
    assert batch_requests(fake) == []


async def test_an_update_without_changes_is_refused(fake: FakeGlobus, flows: FlowsClient) -> None:
    with pytest.raises(InvalidRequestError, match="at least one change"):
        await flows.update_runs([str(uuid.uuid4())])
    assert batch_requests(fake) == []


async def test_confirmation_sorts_canceled_from_already_ended_runs(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=60)
    ended = fake.add_runs(flow_id, 2, duration=0.0)
    active = fake.add_runs(flow_id, 3, duration=LONG)
    runs = await flows.list_all_runs(filter_flow_id=flow_id)
    fake.clear_requests()

    outcome = await flows.bulk_cancel_runs(runs, confirm=True, poll_interval=0.001)

    given = [run.run_id for run in runs]
    assert [run.run_id for run in outcome.canceled] == [i for i in given if i in active]
    assert [run.run_id for run in outcome.ended] == [i for i in given if i in ended]
    assert (outcome.unfinished, outcome.confirmed, outcome.ok) == ([], True, True)
    # Runs given as Run objects are confirmed by list queries only.
    assert {(r.method, r.path) for r in fake.requests} == {
        ("POST", "/batch/runs"),
        ("GET", "/runs"),
    }


async def test_confirmation_of_bare_ids_looks_each_run_up_once(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=LONG)
    run_ids = fake.add_runs(flow_id, 3)

    outcome = await flows.bulk_cancel_runs(run_ids, confirm=True, poll_interval=0.001)

    assert sorted(run.run_id for run in outcome.canceled) == sorted(run_ids)
    looked_up = sorted(r.path for r in fake.requests if r.path.startswith("/runs/"))
    assert looked_up == sorted(f"/runs/{run_id}" for run_id in run_ids)
