"""The indexed listing of ``GET /runs`` answers exactly what sorting every run answers.

Random small campaigns (flows that succeed, fail, pause or wait for a person; runs of
several owners started out of order; cancels, resumes, answers and releases on the way)
are listed page by page through the index and through the reference (`select_page` over
every visible run, with statuses from the full log), and the pages must be identical.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from globus_runs.testing import FakeClock, FakeGlobus, _run_index
from globus_runs.testing._errors import ApiError
from globus_runs.testing._flows import roles_on
from globus_runs.testing._listing import RunView, parse_run_query, read_marker, select_page
from globus_runs.testing._params import QueryParams
from globus_runs.testing._timeline import TERMINAL_STATUSES, run_state, status_at
from globus_runs.testing._wire import format_time, identity_urn
from tests.emulator._support import START

OWNERS = ("0b5c2f5a-0000-4000-8000-000000000001", "0b5c2f5a-0000-4000-8000-000000000002")
ORDERS = ("start_time DESC", "start_time ASC", "completion_time DESC", "completion_time ASC")
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
        fake.add_flow(title="Asking", duration=15, web_input={"title": "Go?", "after": 3}),
    ]
    for _ in range(data.draw(st.integers(1, 6), label="batches")):
        fake.add_runs(
            data.draw(st.sampled_from(flows), label="flow"),
            data.draw(st.integers(1, 6), label="runs"),
            owner=data.draw(st.sampled_from(OWNERS), label="owner"),
            start=START + timedelta(seconds=data.draw(st.integers(-40, 40), label="start")),
            interval=data.draw(st.sampled_from([0.0, 1.0, 7.5]), label="interval"),
            label=data.draw(st.sampled_from([None, "scan {i}", "calibration"]), label="label"),
        )
    state = fake.flows_service
    for _ in range(data.draw(st.integers(0, 12), label="events")):
        fake.clock.advance(data.draw(st.integers(0, 20), label="wait"))
        run_id = data.draw(st.sampled_from(list(state.runs)), label="run")
        run = state.runs[run_id]
        action = data.draw(st.sampled_from(["cancel", "resume", "answer", "release"]))
        now = fake.clock.now()
        try:
            if action == "cancel":
                state.cancel_run(run.owner, run_id, now)
            elif action == "resume":
                state.resume_run(run.owner, run_id, now)
            elif action == "release":
                state.release_run(run.owner, run_id, now)
            elif run.web_input_id is not None:
                option = run.flow.web_input.options[data.draw(st.integers(0, 1), label="opt")]
                later = data.draw(st.integers(0, 10), label="after")
                fake.respond_to_web_input(
                    run.web_input_id, option.option_id, identity_id=run.owner, after=later
                )
        except ApiError:
            pass  # not allowed in the run's state: nothing changed
        if not state.runs:
            break
    fake.clock.advance(data.draw(st.integers(0, 40), label="last wait"))
    return flows


def query(data: st.DataObject, flows: list[str]) -> list[tuple[str, str]]:
    """The parameters of a ``GET /runs`` the index can answer (and some it cannot)."""
    params = [("per_page", str(data.draw(st.integers(1, 4), label="per_page")))]
    orderby = data.draw(st.sampled_from([*ORDERS, "label ASC"]), label="orderby")
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
        params.append(
            ("filter_roles", data.draw(st.sampled_from(["run_owner", "flow_run_manager"])))
        )
    return params


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
    caller = identity_urn(data.draw(st.sampled_from(OWNERS), label="caller"))
    params = query(data, flows)
    views = reference_views(fake, caller)
    # Runs ending together are taken off the running lists one by one, or in one pass.
    one_by_one = data.draw(st.sampled_from([0, 64]), label="one by one")
    with patch.object(_run_index, "_ONE_BY_ONE", one_by_one):
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
