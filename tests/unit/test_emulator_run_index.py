"""The indexed listing of ``GET /runs`` answers exactly what sorting every run answers.

Random small campaigns (flows that succeed, fail, pause or wait for a person; runs of
several owners started out of order; cancels, resumes, answers, relabels and releases on
the way) are listed page by page, in orders of one field or several, through the index and
through the reference (`select_page` over every visible run, with statuses from the full
log), and the pages must be identical.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from globus_runs.testing import FakeClock, FakeGlobus, _flows, _run_index
from globus_runs.testing._batch_runs import apply_batch_update
from globus_runs.testing._errors import ApiError
from globus_runs.testing._flows import roles_on
from globus_runs.testing._listing import (
    ORDER_FIELDS,
    RunView,
    parse_run_query,
    read_marker,
    select_page,
)
from globus_runs.testing._params import QueryParams
from globus_runs.testing._timeline import TERMINAL_STATUSES, run_state, status_at
from globus_runs.testing._wire import format_time, identity_urn
from tests.emulator._support import START

OWNERS = ("0b5c2f5a-0000-4000-8000-000000000001", "0b5c2f5a-0000-4000-8000-000000000002")
# A principal managing a few runs, and monitoring every run of one flow.
HELPER = "0b5c2f5a-0000-4000-8000-000000000003"
CALLERS = (*OWNERS, HELPER)
ORDERS = tuple(f"{field} {way}" for field in ORDER_FIELDS for way in ("ASC", "DESC"))
STATUSES = ("ACTIVE", "INACTIVE", "SUCCEEDED", "FAILED", "ENDED")


def reference_views(fake: FakeGlobus, caller: str) -> list[RunView]:
    """Every run ``caller`` may see, with its status from the run's full log."""
    now = fake.clock.now()
    views = []
    for run in fake.flows_service.runs.values():
        roles = roles_on(run, caller)
        if not roles:
            continue
        state = run_state(run, now)
        views.append(
            RunView(
                run_id=run.run_id,
                seq=run.seq,
                flow_id=run.flow.flow_id,
                flow_title=run.flow.title,
                label=run.label,
                status=state.status,
                start_time=run.start_time,
                completion_time=state.completion_time,
                roles=roles,
            )
        )
    return views


def campaign(fake: FakeGlobus, data: st.DataObject) -> list[str]:
    """Flows, runs and events drawn from ``data``; returns the flow ids."""
    flows = [
        fake.add_flow(title="Quick", duration=10, owner=OWNERS[0]),
        fake.add_flow(title="Failing", duration=20, outcome="FAILED", owner=OWNERS[0]),
        fake.add_flow(title="Pausing", duration=30, inactive_after=5, owner=OWNERS[1]),
        fake.add_flow(
            title="Asking",
            duration=15,
            web_input={"title": "Go?", "after": 3},
            run_monitors=[identity_urn(HELPER)],
        ),
    ]
    for _ in range(data.draw(st.integers(1, 6), label="batches")):
        fake.add_runs(
            data.draw(st.sampled_from(flows), label="flow"),
            data.draw(st.integers(1, 6), label="runs"),
            owner=data.draw(st.sampled_from(OWNERS), label="owner"),
            start=START + timedelta(seconds=data.draw(st.integers(-40, 40), label="start")),
            interval=data.draw(st.sampled_from([0.0, 1.0, 7.5]), label="interval"),
            label=data.draw(
                st.sampled_from([None, "scan {i}", "calibration", "Rare Ünïcode"]), label="label"
            ),
            run_managers=data.draw(st.sampled_from([(), (identity_urn(HELPER),)]), label="mgr"),
        )
    for _ in range(data.draw(st.integers(0, 12), label="events")):
        fake.clock.advance(data.draw(st.integers(0, 20), label="wait"))
        if not change(fake, data):
            break
    fake.clock.advance(data.draw(st.integers(0, 40), label="last wait"))
    return flows


def change(fake: FakeGlobus, data: st.DataObject) -> bool:
    """One event drawn from ``data`` on one run: canceled, resumed, answered, released,
    relabelled, or its managers and monitors changed; ``False`` when no run is left."""
    state = fake.flows_service
    if not state.runs:
        return False
    run_id = data.draw(st.sampled_from(list(state.runs)), label="run")
    run = state.runs[run_id]
    action = data.draw(
        st.sampled_from(["cancel", "resume", "answer", "release", "label", "managers"])
    )
    now = fake.clock.now()
    try:
        if action == "cancel":
            state.cancel_run(run.owner, run_id, now)
        elif action == "resume":
            state.resume_run(run.owner, run_id, now)
        elif action == "release":
            state.release_run(run.owner, run_id, now)
        elif action == "label":
            label = data.draw(st.sampled_from([None, "scan 1", "relabelled", "RARE"]), label="new")
            state.update_run(run.owner, run_id, {"label": label}, now)
        elif action == "managers":
            section = data.draw(st.sampled_from(["add", "remove"]), label="section")
            role = data.draw(st.sampled_from(["run_managers", "run_monitors"]), label="role")
            body = {"filters": {"run_ids": [run_id]}, section: {role: [identity_urn(HELPER)]}}
            apply_batch_update(state, run.owner, body, now)
        elif run.web_input_id is not None:
            option = run.flow.web_input.options[data.draw(st.integers(0, 1), label="opt")]
            later = data.draw(st.integers(0, 10), label="after")
            fake.respond_to_web_input(
                run.web_input_id, option.option_id, identity_id=run.owner, after=later
            )
    except ApiError:
        pass  # not allowed in the run's state: nothing changed
    return bool(state.runs)


def query(data: st.DataObject, flows: list[str]) -> list[tuple[str, str]]:
    """The parameters of a ``GET /runs`` the index can answer (and some it cannot)."""
    params = [("per_page", str(data.draw(st.integers(1, 4), label="per_page")))]
    # One field, or a few (walked by the first, ties sorted by the others).
    orderby = ",".join(
        data.draw(
            st.lists(
                st.sampled_from(ORDERS), min_size=1, max_size=3, unique_by=lambda o: o.split()[0]
            ),
            label="orderby",
        )
    )
    params.append(("orderby", orderby))
    chosen = data.draw(st.lists(st.sampled_from(flows), max_size=3), label="flows")
    if chosen:
        params.append(("filter_flow_id", ",".join(chosen)))
    statuses = data.draw(
        st.sampled_from([["INACTIVE"], ["ACTIVE", "INACTIVE"], ["SUCCEEDED", "FAILED", "ENDED"]])
        | st.lists(st.sampled_from(STATUSES), max_size=3),
        label="statuses",
    )
    if statuses:
        params.append(("filter_status", ",".join(statuses)))
    for name in ("filter_start_time", "filter_completion_time"):
        if data.draw(st.integers(0, 3), label=name) == 0:  # a filter in four queries
            low = data.draw(st.none() | st.integers(-60, 120), label=f"{name} low")
            high = data.draw(st.none() | st.integers(-60, 200), label=f"{name} high")
            edges = [
                "" if x is None else format_time(START + timedelta(seconds=x)) for x in (low, high)
            ]
            params.append((name, ",".join(edges)))
    if data.draw(st.integers(0, 3), label="roles") == 0:
        roles = st.sampled_from(
            ["run_owner", "run_manager", "run_monitor", "flow_run_manager", "flow_run_monitor"]
        )
        chosen_roles = data.draw(st.lists(roles, min_size=1, max_size=2), label="roles")
        params.append(("filter_roles", ",".join(chosen_roles)))
    if data.draw(st.integers(0, 2), label="labels") == 0:
        needles = st.sampled_from(["rare", "SCAN 1", "cal", "zzz", "ü", "n 2"])
        chosen_labels = data.draw(st.lists(needles, min_size=1, max_size=2), label="labels")
        params.append(("filter_label", ",".join(chosen_labels)))
    if data.draw(st.integers(0, 3), label="titles") == 0:
        titles = st.sampled_from(["ask", "QUICK", "ing", "nothing"])
        chosen_titles = data.draw(st.lists(titles, min_size=1, max_size=2), label="titles")
        params.append(("filter_flow_title", ",".join(chosen_titles)))
    return params


def few_runs_sorted(data: st.DataObject) -> contextlib.ExitStack:
    """Patches drawn from ``data``: how many runs a walk reads before the index counts
    what the filters leave, when it sorts the few runs a filter leaves (never, when one
    filter leaves a handful, always), and how many runs it may read to narrow them."""
    stack = contextlib.ExitStack()
    try_at_most = data.draw(st.sampled_from([0, 0, 3, 1000]), label="try at most")
    stack.enter_context(patch.object(_run_index, "_TRY_AT_MOST", try_at_most))
    at_most = data.draw(st.sampled_from([0, 2, 3000]), label="gather at most")
    budget = data.draw(st.sampled_from([0, 10, 150_000]), label="gather budget")
    stack.enter_context(patch.object(_run_index, "_GATHER_AT_MOST", at_most))
    stack.enter_context(patch.object(_run_index, "_FILTER_AT_MOST", budget))
    return stack


def pages(fake: FakeGlobus, caller: str, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every page of the indexed listing, following its markers (a page per run at most)."""
    state, now = fake.flows_service, fake.clock.now()
    answers = [state.list_runs(caller, QueryParams(params), now)]
    while answers[-1]["marker"] is not None and len(answers) <= len(state.runs):
        answers.append(
            state.list_runs(caller, QueryParams([("marker", answers[-1]["marker"])]), now)
        )
    return answers


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_indexed_listing_equals_sorting_every_run(data: st.DataObject) -> None:
    fake = FakeGlobus(clock=FakeClock(START))
    flows = campaign(fake, data)
    caller = identity_urn(data.draw(st.sampled_from(CALLERS), label="caller"))
    params = query(data, flows)
    views = reference_views(fake, caller)
    # Runs ending together are taken off the running lists one by one, or in one pass.
    one_by_one = data.draw(st.sampled_from([0, 64]), label="one by one")
    # Groups tying on a field are sorted, or read through the next field's list.
    sort_at_most = data.draw(st.sampled_from([0, 1, 3, 500]), label="sort at most")
    with (
        patch.object(_run_index, "_ONE_BY_ONE", one_by_one),
        patch.object(_run_index, "_SORT_AT_MOST", sort_at_most),
        few_runs_sorted(data),
    ):
        listed = pages(fake, caller, params)
    expected = select_page(views, parse_run_query(QueryParams(params)))
    for answer in listed:
        assert [run["run_id"] for run in answer["runs"]] == [v.run_id for v in expected.runs]
        assert answer["marker"] == expected.marker
        if expected.marker is None:
            break
        reference_query, after = read_marker(expected.marker)
        expected = select_page(views, reference_query, after)
    assert listed[-1]["marker"] is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_pages_read_while_runs_change_are_those_of_sorting_every_run(
    data: st.DataObject,
) -> None:
    """Between two pages the clock moves (runs end, pause), runs are relabelled, released,
    given or denied managers and monitors: each page, read from the previous one's marker,
    is what sorting every run then answers after the marker's position."""
    fake = FakeGlobus(clock=FakeClock(START))
    flows = campaign(fake, data)
    caller = identity_urn(data.draw(st.sampled_from(CALLERS), label="caller"))
    state = fake.flows_service
    params = query(data, flows)
    reference_query, after = parse_run_query(QueryParams(params)), None
    with few_runs_sorted(data):
        for _ in range(len(state.runs) + 1):
            now = fake.clock.now()
            answer = state.list_runs(caller, QueryParams(params), now)
            expected = select_page(reference_views(fake, caller), reference_query, after)
            assert [run["run_id"] for run in answer["runs"]] == [v.run_id for v in expected.runs]
            assert answer["marker"] == expected.marker
            if answer["marker"] is None:
                break
            params = [("marker", answer["marker"])]
            reference_query, position = read_marker(answer["marker"])
            after = position
            for _ in range(data.draw(st.integers(0, 2), label="changes between pages")):
                fake.clock.advance(data.draw(st.integers(0, 15), label="wait between pages"))
                change(fake, data)
        else:
            raise AssertionError("more pages than runs")


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_statuses_read_without_the_log_are_those_of_the_log(data: st.DataObject) -> None:
    fake = FakeGlobus(clock=FakeClock(START))
    campaign(fake, data)
    for step in range(3):
        now = fake.clock.now()
        for run in fake.flows_service.runs.values():
            state = run_state(run, now)
            assert status_at(run, now) == (state.status, state.completion_time)
            assert (state.status in TERMINAL_STATUSES) == (state.completion_time is not None)
        fake.clock.advance(7 * step + 1)


def tied_campaign() -> tuple[FakeGlobus, list[str]]:
    """300 runs of four flows with many ties: batches started at the same moment, a few
    labels shared by many runs and unlabelled ones, every status, runs canceled, resumed,
    relabelled and released on the way."""
    fake = FakeGlobus(clock=FakeClock(START))
    owner = OWNERS[0]
    flows = [
        fake.add_flow(title="Quick", duration=10, owner=owner),
        fake.add_flow(title="Failing", duration=20, outcome="FAILED", owner=owner),
        fake.add_flow(title="Pausing", duration=30, inactive_after=5, owner=owner),
        fake.add_flow(title="Long", duration=5000, owner=owner),
    ]
    labels = [None, "scan {i}", "calibration", "b"]
    for batch in range(12):
        fake.add_runs(
            flows[batch % 4],
            25,
            owner=owner,
            start=START + timedelta(seconds=(batch * 7) % 40 - 20),
            interval=0.0 if batch % 3 else 1.0,  # a batch started at one moment: ties
            label=labels[batch % 4],
        )
    state = fake.flows_service
    now = fake.clock.now()
    run_ids = list(state.runs)
    for number, run_id in enumerate(run_ids[::7]):
        action = ("cancel", "resume", "label", "release")[number % 4]
        try:
            if action == "cancel":
                state.cancel_run(identity_urn(owner), run_id, now)
            elif action == "resume":
                state.resume_run(identity_urn(owner), run_id, now)
            elif action == "label":
                new = ("calibration", None, "a")[number % 3]
                state.update_run(identity_urn(owner), run_id, {"label": new}, now)
            else:
                state.release_run(identity_urn(owner), run_id, now)
        except ApiError:
            pass  # not allowed in the run's state
        fake.clock.advance(3)
        now = fake.clock.now()
    fake.clock.advance(15)
    return fake, flows


TIED_ORDERS = [
    *ORDERS,
    "status ASC,start_time DESC",
    "label DESC,id ASC",
    "completion_time ASC,label ASC,status DESC",
    "start_time ASC,status DESC",
    "id DESC,label ASC",
]
# Orders whose first fields tie for many runs, each field both ways.
SEVERAL_FIELDS = [
    "status ASC,start_time ASC",
    "status DESC,start_time ASC",
    "status DESC,completion_time DESC",
    "status ASC,label DESC",
    "status DESC,label ASC,start_time DESC",
    "label ASC,start_time DESC",
    "label DESC,start_time DESC",
    "label ASC,completion_time ASC",
    "label DESC,status ASC,id DESC",
    "completion_time DESC,label ASC",
    "completion_time ASC,status DESC,label DESC",
    "start_time DESC,label DESC,status ASC",
]


def assert_pages_of_a_full_sort(
    fake: FakeGlobus, caller: str, views: list[RunView], params: list[tuple[str, str]]
) -> None:
    """Every page of the indexed listing, markers included, is the full sort's, and nothing
    sorts every run."""
    query = parse_run_query(QueryParams(params))
    expected = select_page(views, query)
    walked, sorted_ = [], []
    with patch.object(_flows, "select_page", side_effect=AssertionError("full sort")):
        answers = pages(fake, caller, params)
    for answer in answers:
        walked += [run["run_id"] for run in answer["runs"]]
        assert answer["marker"] == expected.marker, params
        sorted_ += [view.run_id for view in expected.runs]
        if expected.marker is not None:
            reference_query, after = read_marker(expected.marker)
            expected = select_page(views, reference_query, after)
    assert walked == sorted_, params
    assert len(walked) == sum(query.matches(view) for view in views)


@pytest.mark.parametrize("sort_at_most", [0, 4, 500])
def test_orders_of_several_fields_page_as_a_full_sort(sort_at_most: int) -> None:
    """Groups tying on the first fields are sorted (at most ``sort_at_most`` runs) or read
    through the next field's list; either way every page is the full sort's."""
    fake, flows = tied_campaign()
    caller = identity_urn(OWNERS[0])
    views = reference_views(fake, caller)
    # Missing values tie too: unlabelled runs, runs still going (no completion time).
    assert sum(view.label is None for view in views) > 50
    assert sum(view.completion_time is None for view in views) > 50
    filters: list[list[tuple[str, str]]] = [
        [],
        [("filter_flow_id", flows[2])],
        [("filter_status", "ACTIVE,SUCCEEDED")],
        [("filter_completion_time", format_time(START) + ",")],
    ]
    with patch.object(_run_index, "_SORT_AT_MOST", sort_at_most):
        for orderby in SEVERAL_FIELDS:
            for extra in filters:
                params = [("orderby", orderby), ("per_page", "6"), *extra]
                assert_pages_of_a_full_sort(fake, caller, views, params)


@pytest.mark.parametrize("sort_at_most", [0, 4, 500])
def test_every_order_pages_as_a_full_sort_over_runs_with_ties(sort_at_most: int) -> None:
    fake, flows = tied_campaign()
    caller = identity_urn(OWNERS[0])
    views = reference_views(fake, caller)
    assert len(views) > 250
    assert len({view.status for view in views}) == 4  # all but ENDED
    filters: list[list[tuple[str, str]]] = [
        [],
        [("filter_flow_id", f"{flows[0]},{flows[2]}")],
        [("filter_status", "INACTIVE,SUCCEEDED")],
        [("filter_status", "ACTIVE")],
        [("filter_completion_time", format_time(START) + ",")],
    ]
    with patch.object(_run_index, "_SORT_AT_MOST", sort_at_most):
        for orderby in TIED_ORDERS:
            for extra in filters:
                params = [("orderby", orderby), ("per_page", "7"), *extra]
                assert_pages_of_a_full_sort(fake, caller, views, params)


def sparse_campaign() -> tuple[FakeGlobus, list[str]]:
    """1,200 runs where each filter leaves few: a rare label, a rare flow, a few runs that
    fail, a few managed or monitored by `HELPER`, a late burst of completions; runs end,
    pause, are relabelled, given monitors and released on the way."""
    fake = FakeGlobus(clock=FakeClock(START))
    owner = OWNERS[0]
    common = fake.add_flow(title="Common", duration=50, owner=owner)
    pausing = fake.add_flow(title="Pausing", duration=400, inactive_after=100, owner=owner)
    rare = fake.add_flow(title="Rare Flow", duration=30, outcome="FAILED", owner=owner)
    watched = fake.add_flow(title="Watched", duration=20, run_monitors=[identity_urn(HELPER)])
    fake.add_runs(common, 600, owner=owner, start=START - timedelta(seconds=600), interval=0.5)
    fake.add_runs(pausing, 400, owner=owner, start=START - timedelta(seconds=300), interval=0.5)
    fake.add_runs(common, 3, owner=owner, start=START - timedelta(seconds=10), label="Rare {i}")
    fake.add_runs(rare, 4, owner=owner, start=START - timedelta(seconds=200), interval=5.0)
    fake.add_runs(watched, 3, owner=OWNERS[1], start=START - timedelta(seconds=100))
    fake.add_runs(
        common,
        5,
        owner=owner,
        start=START - timedelta(seconds=250),
        run_managers=[identity_urn(HELPER)],
        label="batch {i}",
    )
    fake.add_runs(common, 185, owner=owner, start=START - timedelta(seconds=150), interval=0.0)
    state = fake.flows_service
    now = fake.clock.now()
    run_ids = list(state.runs)
    state.update_run(identity_urn(owner), run_ids[10], {"label": "rare relabelled"}, now)
    state.release_run(identity_urn(owner), run_ids[11], now)
    apply_batch_update(
        state,
        identity_urn(owner),
        {"filters": {"run_ids": run_ids[20:23]}, "add": {"run_monitors": [identity_urn(HELPER)]}},
        now,
    )
    fake.clock.advance(120)
    return fake, [common, pausing, rare, watched]


SPARSE_ORDERS = [
    "start_time DESC",
    "start_time ASC",
    "completion_time DESC",
    "label ASC",
    "id DESC",
    "status ASC,start_time DESC",
    "label DESC,status ASC,id DESC",
]


@pytest.mark.parametrize("try_at_most", [0, 5])
@pytest.mark.parametrize("gather_at_most", [0, 20, 3000])
@pytest.mark.parametrize("orderby", SPARSE_ORDERS)
def test_filters_leaving_few_runs_page_as_a_full_sort(
    orderby: str, gather_at_most: int, try_at_most: int
) -> None:
    """Each filter that leaves few runs (and such filters together, and with the others)
    pages as the full sort, for the owner and for a principal who sees few runs, whether
    those runs are sorted (up to ``gather_at_most``) or the order's lists walked, after a
    walk of ``try_at_most`` runs."""
    fake, (common, _, rare, _) = sparse_campaign()
    early = START - timedelta(seconds=3600)
    window = f"{format_time(early)},{format_time(early + timedelta(seconds=600))}"
    filters: list[list[tuple[str, str]]] = [
        [("filter_status", "FAILED")],
        [("filter_status", "ENDED")],
        [("filter_status", "INACTIVE")],
        [("filter_label", "rare")],
        [("filter_label", "RARE,batch 3")],
        [("filter_label", "rare"), ("filter_status", "SUCCEEDED,ACTIVE")],
        [("filter_flow_title", "rare")],
        [("filter_flow_title", "rare,watch"), ("filter_status", "SUCCEEDED")],
        [("filter_flow_title", "nothing")],
        [("filter_flow_id", f"{common},{rare}"), ("filter_flow_title", "rare")],
        [("filter_roles", "run_manager")],
        [("filter_roles", "run_monitor,flow_run_monitor")],
        [("filter_completion_time", window)],
        [("filter_completion_time", format_time(START) + ",")],
        [("filter_start_time", format_time(START - timedelta(seconds=11)) + ",")],
        [("filter_status", "FAILED"), ("filter_label", "batch")],
    ]
    with (
        patch.object(_run_index, "_GATHER_AT_MOST", gather_at_most),
        patch.object(_run_index, "_TRY_AT_MOST", try_at_most),
    ):
        for caller in (identity_urn(OWNERS[0]), identity_urn(HELPER)):
            views = reference_views(fake, caller)
            for extra in filters:
                params = [("orderby", orderby), ("per_page", "2"), *extra]
                assert_pages_of_a_full_sort(fake, caller, views, params)
