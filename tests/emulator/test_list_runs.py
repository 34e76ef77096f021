"""``GET /runs``: visibility, filters, ordering and marker paging."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import START, ClientFactory, error_of

pytestmark = pytest.mark.anyio


async def list_runs(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/runs", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def run_ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [run["run_id"] for run in (await list_runs(client, per_page=50, **params))["runs"]]


async def every_run_id(client: httpx.AsyncClient, **params: Any) -> list[str]:
    page = await list_runs(client, **params)
    ids = [run["run_id"] for run in page["runs"]]
    while page["has_next_page"]:
        page = await list_runs(client, marker=page["marker"])
        ids += [run["run_id"] for run in page["runs"]]
    assert page["marker"] is None
    return ids


def at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat()


async def test_runs_are_listed_newest_first_by_default(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    ids = fake.add_runs(flow_id, 5, interval=1)
    page = await list_runs(client)
    assert [run["run_id"] for run in page["runs"]] == ids[::-1]
    assert (page["has_next_page"], page["marker"], page["limit"]) == (False, None, 20)
    assert page["runs"][0] == fake.get_run_document(ids[-1])


async def test_pages_hold_per_page_runs_and_markers_reach_every_run(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    ids = fake.add_runs(flow_id, 23, interval=1)
    first = await list_runs(client, per_page=10)
    assert (len(first["runs"]), first["has_next_page"], first["limit"]) == (10, True, 10)
    assert await every_run_id(client, per_page=10) == ids[::-1]


async def test_the_default_page_size_is_20(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    fake.add_runs(flow_id, 45)
    assert len(await every_run_id(client)) == 45
    assert len((await list_runs(client))["runs"]) == 20


async def test_the_marker_carries_the_filters_and_other_parameters_are_ignored(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    other_flow = fake.add_flow(title="Other")
    wanted = fake.add_runs(flow_id, 6, interval=1)
    fake.add_runs(other_flow, 6, interval=1)
    page = await list_runs(client, filter_flow_id=flow_id, per_page=4, orderby="start_time ASC")
    ids = [run["run_id"] for run in page["runs"]]
    page = await list_runs(
        client, marker=page["marker"], filter_flow_id=other_flow, per_page="bogus"
    )
    ids += [run["run_id"] for run in page["runs"]]
    assert ids == wanted
    assert page["has_next_page"] is False


async def test_runs_started_while_paging_do_not_shift_pages(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    old = fake.add_runs(flow_id, 6, interval=1)
    page = await list_runs(client, per_page=3)
    fake.add_runs(flow_id, 2)  # newer than all of the above
    page = await list_runs(client, marker=page["marker"])
    assert [run["run_id"] for run in page["runs"]] == old[2::-1]


async def test_filter_by_flow_id_accepts_a_comma_joined_list(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    second, third = fake.add_flow(), fake.add_flow()
    [a] = fake.add_runs(flow_id, 1)
    [b] = fake.add_runs(second, 1)
    fake.add_runs(third, 1)
    assert set(await run_ids(client, filter_flow_id=f"{flow_id},{second}")) == {a, b}


async def test_filter_by_status_follows_the_clock(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    flow_id = fake.add_flow(duration=10)
    finished = fake.add_runs(flow_id, 2, start=START - timedelta(seconds=60))
    running = fake.add_runs(flow_id, 3)
    assert set(await run_ids(client, filter_status="SUCCEEDED")) == set(finished)
    assert set(await run_ids(client, filter_status="ACTIVE,INACTIVE")) == set(running)
    fake.clock.advance(10)
    assert len(await run_ids(client, filter_status="SUCCEEDED")) == 5


async def test_filter_by_label_and_flow_title_is_a_case_insensitive_search(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    transfer = fake.add_flow(title="Nightly Transfer")
    other = fake.add_flow(title="Analysis")
    beamline = fake.add_runs(transfer, 2, label="Beamline {i}")
    fake.add_runs(transfer, 1, label="other")
    unlabelled = fake.add_runs(other, 1)
    assert set(await run_ids(client, filter_label="BEAMLINE")) == set(beamline)
    assert set(await run_ids(client, filter_label="line 1,nothing")) == {beamline[1]}
    assert len(await run_ids(client, filter_flow_title="transfer")) == 3
    assert await run_ids(client, filter_flow_title="analysis") == unlabelled


async def test_filter_by_start_time_is_half_open(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    ids = fake.add_runs(flow_id, 5, start=START, interval=10)  # at 0, 10, 20, 30, 40 s
    assert (
        await run_ids(client, filter_start_time=f"{at(10)},{at(30)}", orderby="start_time ASC")
        == ids[1:3]
    )
    assert (
        await run_ids(client, filter_start_time=f"{at(30)},", orderby="start_time ASC") == (ids[3:])
    )
    assert await run_ids(client, filter_start_time=f",{at(10)}") == ids[:1]


async def test_filter_by_completion_time_skips_unfinished_runs(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    fake.clock.advance(100)
    ids = fake.add_runs(flow_id, 3, start=START, interval=40, duration=10)  # end at 10, 50, 90 s
    assert await run_ids(client, filter_completion_time=f"{at(0)},{at(50)}") == ids[:1]
    assert set(await run_ids(client, filter_completion_time=f"{at(50)},")) == set(ids[1:])
    fake.add_runs(flow_id, 1)  # still running
    assert len(await run_ids(client, filter_completion_time=",")) == 3


async def test_time_filters_accept_utc_offsets_and_z(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    ids = fake.add_runs(flow_id, 2, start=START, interval=3600)
    assert await run_ids(client, filter_start_time="2026-03-01T12:30:00Z,") == ids[1:]
    assert await run_ids(client, filter_start_time="2026-03-01T13:30:00+01:00,") == ids[1:]


async def test_filter_by_roles_restricts_to_the_callers_role(
    fake: FakeGlobus, flow_id: str, connect: ClientFactory
) -> None:
    alice = "00000000-0000-0000-0000-00000000a11c"
    alice_urn = f"urn:globus:auth:identity:{alice}"
    token = fake.issue_token(identity_id=alice)
    owned = fake.add_runs(flow_id, 1, owner=alice)
    managed = fake.add_runs(flow_id, 1, run_managers=[alice_urn])
    monitored = fake.add_runs(flow_id, 1, run_monitors=[alice_urn])
    fake.add_runs(flow_id, 1)  # not visible to alice
    async with connect(token) as client:
        assert set(await run_ids(client)) == {*owned, *managed, *monitored}
        assert await run_ids(client, filter_roles="run_owner") == owned
        assert set(await run_ids(client, filter_roles="run_manager,run_monitor")) == {
            *managed,
            *monitored,
        }
        roles = {run["run_id"]: run["user_role"] for run in (await list_runs(client))["runs"]}
    assert roles == {owned[0]: "run_owner", managed[0]: "run_manager", monitored[0]: "run_monitor"}


async def test_flow_level_managers_and_monitors_see_every_run_of_the_flow(
    fake: FakeGlobus, connect: ClientFactory
) -> None:
    bob = "00000000-0000-0000-0000-000000000b0b"
    flow_id = fake.add_flow(run_monitors=[f"urn:globus:auth:identity:{bob}"])
    ids = fake.add_runs(flow_id, 2)
    async with connect(fake.issue_token(identity_id=bob)) as client:
        assert set(await run_ids(client, filter_roles="flow_run_monitor")) == set(ids)
        assert await run_ids(client, filter_roles="flow_run_manager") == []


@pytest.mark.parametrize(
    ("orderby", "expected"),
    [
        ("label ASC", ["a", "b", "c", None]),
        ("label DESC", [None, "c", "b", "a"]),
    ],
)
async def test_orderby_label_puts_missing_labels_last_ascending(
    client: httpx.AsyncClient,
    fake: FakeGlobus,
    flow_id: str,
    orderby: str,
    expected: list[str | None],
) -> None:
    for label in ["b", None, "a", "c"]:
        fake.add_runs(flow_id, 1, label=label)
    runs = (await list_runs(client, orderby=orderby))["runs"]
    assert [run["label"] for run in runs] == expected


async def test_orderby_status_sorts_by_the_current_status(
    client: httpx.AsyncClient, fake: FakeGlobus
) -> None:
    fake.add_runs(fake.add_flow(duration=1), 1)
    fake.add_runs(fake.add_flow(duration=1000), 1)
    fake.add_runs(fake.add_flow(duration=1, outcome="FAILED"), 1)
    fake.clock.advance(5)
    runs = (await list_runs(client, orderby="status DESC"))["runs"]
    assert [run["status"] for run in runs] == ["SUCCEEDED", "FAILED", "ACTIVE"]


async def test_orderby_accepts_several_comma_joined_fields(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    firsts = fake.add_runs(flow_id, 2, label="first", interval=1)
    seconds = fake.add_runs(flow_id, 2, label="second", interval=1)
    ids = await run_ids(client, orderby="label DESC,start_time ASC")
    assert ids == seconds + firsts


async def test_orderby_id_and_completion_time(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    fake.clock.advance(100)
    ids = fake.add_runs(flow_id, 3, start=START, duration=[30, 10, 20])
    assert await run_ids(client, orderby="id ASC") == sorted(ids)
    assert await run_ids(client, orderby="completion_time ASC") == [ids[1], ids[2], ids[0]]


async def test_empty_multi_valued_filters_do_not_filter(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    ids = fake.add_runs(flow_id, 3, interval=1)
    empty = {"filter_flow_id": "", "filter_roles": "", "filter_status": "", "orderby": ""}
    assert await run_ids(client, **empty) == ids[::-1]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"filter_status": "CANCELED"}, id="unknown status"),
        pytest.param({"filter_status": "active"}, id="lower-case status"),
        pytest.param({"filter_roles": "admin"}, id="unknown role"),
        pytest.param({"orderby": "flow_id ASC"}, id="unknown order field"),
        pytest.param({"orderby": "start_time"}, id="order without direction"),
        pytest.param({"orderby": "start_time UP"}, id="bad direction"),
        pytest.param({"per_page": "0"}, id="per_page 0"),
        pytest.param({"per_page": "51"}, id="per_page 51"),
        pytest.param({"filter_start_time": "yesterday,"}, id="bad datetime"),
        pytest.param({"filter_start_time": "2026-01-01T00:00:00+00:00,,"}, id="two commas"),
        pytest.param({"per_page": ""}, id="empty per_page"),
        pytest.param({"filter_start_time": ""}, id="empty time range"),
        pytest.param({"filter_status": "ACTIVE,"}, id="empty item"),
        pytest.param({"filter_status": ["ACTIVE", "FAILED"]}, id="repeated"),
    ],
)
async def test_invalid_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, str | list[str]]
) -> None:
    response = await client.get("/runs", params=params)
    assert error_of(response) == (422, "UNPROCESSABLE_ENTITY")


async def test_unknown_parameters_are_ignored(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    fake.add_runs(flow_id, 2)
    assert len(await run_ids(client, offset="5", whatever="")) == 2


async def test_per_page_50_is_accepted(client: httpx.AsyncClient) -> None:
    assert (await list_runs(client, per_page=50))["limit"] == 50


@pytest.mark.parametrize("marker", ["%%%", "bm90IGpzb24", "eyJraW5kIjoibG9nIn0"])
async def test_a_bad_marker_is_400(client: httpx.AsyncClient, marker: str) -> None:
    response = await client.get("/runs", params={"marker": marker})
    assert error_of(response) == (400, "BAD_REQUEST")


async def test_runs_of_other_identities_are_not_listed(
    fake: FakeGlobus, flow_id: str, connect: ClientFactory
) -> None:
    fake.add_runs(flow_id, 3)
    async with connect(fake.issue_token()) as stranger:
        assert await run_ids(stranger) == []


async def test_thousands_of_runs_page_completely(
    client: httpx.AsyncClient, fake: FakeGlobus, flow_id: str
) -> None:
    ids = fake.add_runs(flow_id, 2000, interval=0)
    assert await every_run_id(client, per_page=50) == ids[::-1]
