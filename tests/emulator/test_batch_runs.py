"""The emulated ``POST /batch/runs``: validation, roles, and what each section does."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import ClientFactory

pytestmark = pytest.mark.anyio

LONG = 1e6


def urn(identity_id: str) -> str:
    return f"urn:globus:auth:identity:{identity_id}"


def body(run_ids: list[str], **sections: Any) -> dict[str, Any]:
    return {"filters": {"run_ids": run_ids}, **sections}


async def test_answer_is_202_with_an_empty_object(
    fake: FakeGlobus, flow_id: str, client: httpx.AsyncClient
) -> None:
    run_ids = fake.add_runs(flow_id, 2)

    answer = await client.post("/batch/runs", json=body(run_ids, add={"tags": ["a"]}))

    assert (answer.status_code, answer.json()) == (202, {})


async def test_set_add_and_remove_edit_the_lists(
    fake: FakeGlobus, flow_id: str, client: httpx.AsyncClient
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, tags=["a", "b"])
    manager = urn(str(uuid.uuid4()))

    await client.post(
        "/batch/runs",
        json=body(
            [run_id],
            set={"run_managers": [manager]},
            add={"tags": ["c", "a"]},
            remove={"tags": ["b"]},
        ),
    )

    assert (fake.runs[run_id].tags, fake.runs[run_id].run_managers) == (["a", "c"], [manager])


async def test_cancel_ends_active_runs_and_leaves_ended_ones(
    fake: FakeGlobus, flow_id: str, client: httpx.AsyncClient
) -> None:
    [active] = fake.add_runs(flow_id, 1, duration=LONG)
    [ended] = fake.add_runs(flow_id, 1, duration=0.0)

    answer = await client.post("/batch/runs", json=body([active, ended], set={"status": "cancel"}))

    assert answer.status_code == 202
    assert fake.get_run_document(active)["details"]["code"] == "FlowCanceled"
    assert fake.get_run_document(ended)["status"] == "SUCCEEDED"


async def test_every_bad_field_is_listed_in_one_422(
    fake: FakeGlobus, client: httpx.AsyncClient
) -> None:
    answer = await client.post(
        "/batch/runs",
        json={
            "filters": {"run_ids": ["nope"]},
            "set": {"status": "pause"},
            "add": {"labels": ["x"]},
            "remove": {"run_monitors": ["someone"]},
        },
    )

    assert answer.status_code == 422
    assert [item["loc"] for item in answer.json()["error"]["detail"]] == [
        ["body", "filters", "run_ids", 0],
        ["body", "set", "status"],
        ["body", "add", "labels"],
        ["body", "remove", "run_monitors"],
    ]


async def test_missing_run_ids_and_no_change_are_422(client: httpx.AsyncClient) -> None:
    missing = await client.post("/batch/runs", json={"add": {"tags": ["a"]}})
    nothing = await client.post("/batch/runs", json=body([str(uuid.uuid4())]))

    assert missing.json()["error"]["detail"][0]["loc"] == ["body", "filters", "run_ids"]
    assert (nothing.status_code, nothing.json()["error"]["detail"][0]["msg"]) == (
        422,
        "nothing to change",
    )


async def test_too_many_run_ids_are_422(client: httpx.AsyncClient) -> None:
    run_ids = [str(uuid.uuid4()) for _ in range(1001)]

    answer = await client.post("/batch/runs", json=body(run_ids, add={"tags": ["a"]}))

    assert answer.status_code == 422
    assert answer.json()["error"]["detail"][0]["msg"] == "ensure at most 1000 items"


async def test_a_run_the_caller_only_monitors_refuses_the_request(
    fake: FakeGlobus, flow_id: str, connect: ClientFactory
) -> None:
    monitor_id = str(uuid.uuid4())
    token = fake.issue_token(identity_id=monitor_id)
    mine = fake.add_runs(flow_id, 1, run_managers=[urn(monitor_id)])
    watched = fake.add_runs(flow_id, 1, run_monitors=[urn(monitor_id)])

    async with connect(token) as monitor:
        answer = await monitor.post("/batch/runs", json=body(mine + watched, add={"tags": ["x"]}))

    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "FORBIDDEN")
    assert watched[0] in answer.json()["error"]["detail"]
    assert [fake.runs[run_id].tags for run_id in mine + watched] == [[], []]


async def test_an_unknown_run_is_refused_like_a_foreign_one(
    fake: FakeGlobus, flow_id: str, client: httpx.AsyncClient
) -> None:
    missing = str(uuid.uuid4())

    answer = await client.post("/batch/runs", json=body([missing], add={"tags": ["x"]}))

    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "FORBIDDEN")
