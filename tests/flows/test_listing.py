"""Listing runs and reading logs: filters, markers, and where iteration stops."""

from __future__ import annotations

from datetime import timedelta

import pytest

from globus_runs import APIError, FlowsClient, RunStatus
from globus_runs.testing import FakeGlobus

from .conftest import START, only_request

pytestmark = pytest.mark.anyio


async def test_list_runs_sends_every_filter_comma_joined(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    other = fake.add_flow(title="Other")
    await flows.list_runs(
        filter_flow_id=[flow_id, other],
        filter_status=("ACTIVE", "INACTIVE"),
        filter_label="scan",
        filter_flow_title=["Ten", "Other"],
        filter_roles="run_owner",
        filter_start_time=(START, START + timedelta(days=1)),
        filter_completion_time=(None, START),
        orderby=["start_time ASC", "label DESC"],
        per_page=7,
    )
    assert only_request(fake).query == [
        ("filter_flow_id", f"{flow_id},{other}"),
        ("filter_status", "ACTIVE,INACTIVE"),
        ("filter_label", "scan"),
        ("filter_flow_title", "Ten,Other"),
        ("filter_roles", "run_owner"),
        ("filter_start_time", "2026-03-01T12:00:00+00:00,2026-03-02T12:00:00+00:00"),
        ("filter_completion_time", ",2026-03-01T12:00:00+00:00"),
        ("orderby", "start_time ASC,label DESC"),
        ("per_page", "7"),
    ]


async def test_list_runs_without_filters_sends_no_query(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    page = await flows.list_runs()
    assert only_request(fake).query == []
    assert (page.runs, page.has_next_page) == ([], False)


async def test_list_runs_filters_and_pages(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    fake.add_runs(flow_id, 5, duration=5.0)
    fake.clock.advance(6)
    fake.add_runs(flow_id, 3, duration=100.0)
    page = await flows.list_runs(filter_status="ACTIVE", per_page=2)
    assert [run.status for run in page.runs] == ["ACTIVE", "ACTIVE"]
    assert page.has_next_page
    assert page.marker
    follow = await flows.list_runs(marker=page.marker)
    assert fake.requests[-1].query == [("marker", page.marker)]
    assert [run.status for run in follow.runs] == ["ACTIVE"]
    assert not follow.has_next_page


async def test_iter_runs_follows_markers_sending_only_the_marker(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    created = fake.add_runs(flow_id, 7)
    runs = [run async for run in flows.iter_runs(filter_flow_id=flow_id, per_page=3)]
    assert sorted(run.run_id for run in runs) == sorted(created)
    assert len(fake.requests) == 3
    assert fake.requests[0].query == [("filter_flow_id", flow_id), ("per_page", "3")]
    for request in fake.requests[1:]:
        assert [name for name, _ in request.query] == ["marker"]


async def test_iter_runs_orders_as_asked(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    created = fake.add_runs(flow_id, 4, interval=1.0)
    oldest_first = await flows.list_all_runs(orderby="start_time ASC", per_page=3)
    assert [run.run_id for run in oldest_first] == created
    newest_first = await flows.list_all_runs(per_page=3)
    assert [run.run_id for run in newest_first] == created[::-1]


async def test_max_items_stops_without_fetching_further_pages(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    fake.add_runs(flow_id, 10)
    runs = await flows.list_all_runs(per_page=3, max_items=4)
    assert len(runs) == 4
    assert len(fake.requests) == 2
    fake.clear_requests()
    assert len(await flows.list_all_runs(per_page=5, max_items=5)) == 5
    assert len(fake.requests) == 1


async def test_time_filters_select_runs(fake: FakeGlobus, flows: FlowsClient, flow_id: str) -> None:
    early = fake.add_runs(flow_id, 2, duration=5.0)
    fake.clock.advance(100)
    late = fake.add_runs(flow_id, 2, duration=5.0)
    fake.clock.advance(100)
    cut = START + timedelta(seconds=50)
    started_late = await flows.list_all_runs(filter_start_time=(cut, None))
    assert sorted(r.run_id for r in started_late) == sorted(late)
    done_early = await flows.list_all_runs(filter_completion_time=(None, cut))
    assert sorted(r.run_id for r in done_early) == sorted(early)
    assert all(r.status == RunStatus.SUCCEEDED for r in done_early)


async def test_get_run_logs_one_page(fake: FakeGlobus, flows: FlowsClient, flow_id: str) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(60)
    page = await flows.get_run_logs(run_id, limit=2)
    assert only_request(fake).query == [("limit", "2")]
    assert [entry.code for entry in page.entries] == ["FlowStarted", "ActionStarted"]
    assert page.has_next_page
    assert page.limit == 2
    newest = await flows.get_run_logs(run_id, limit=1, reverse_order=True)
    assert fake.requests[-1].query == [("limit", "1"), ("reverse_order", "true")]
    assert [entry.code for entry in newest.entries] == ["FlowSucceeded"]


async def test_iter_run_logs_reads_every_entry_once_in_order(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    flow_id = fake.add_flow(duration=10.0, steps=6)
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(60)
    entries = [entry async for entry in flows.iter_run_logs(run_id, page_size=5)]
    codes = [entry.code for entry in entries]
    assert codes[0] == "FlowStarted"
    assert codes[-1] == "FlowSucceeded"
    assert codes.count("ActionCompleted") == 6
    assert len(entries) == 14
    assert [entry.time for entry in entries] == sorted(entry.time for entry in entries)
    assert len(fake.requests) == 3
    assert fake.requests[0].query == [("limit", "5")]
    assert [name for name, _ in fake.requests[1].query] == ["marker"]
    assert await flows.list_all_run_logs(run_id) == entries
    reverse = await flows.list_all_run_logs(run_id, reverse_order=True)
    assert reverse == entries[::-1]


async def test_iter_run_logs_max_items(fake: FakeGlobus, flows: FlowsClient, flow_id: str) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    fake.clock.advance(60)
    entries = [e async for e in flows.iter_run_logs(run_id, page_size=2, max_items=3)]
    assert [e.code for e in entries] == ["FlowStarted", "ActionStarted", "ActionCompleted"]
    assert len(fake.requests) == 2


async def test_log_entries_appear_as_the_run_progresses(
    fake: FakeGlobus, flows: FlowsClient, flow_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    first = await flows.list_all_run_logs(run_id)
    fake.clock.advance(60)
    later = await flows.list_all_run_logs(run_id)
    assert later[: len(first)] == first
    assert len(later) > len(first)


async def test_a_page_size_the_service_refuses_comes_back_as_its_error(
    fake: FakeGlobus, flows: FlowsClient
) -> None:
    with pytest.raises(APIError) as info:
        await flows.list_runs(per_page=51)

    assert only_request(fake).query == [("per_page", "51")]
    assert 400 <= info.value.http_status < 500
