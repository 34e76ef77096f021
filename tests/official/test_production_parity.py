"""What production does and the emulator now does too, driven by ``globus-sdk``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import globus_sdk
import pytest
from globus_sdk.testing import RegisteredResponse, get_response_set

from globus_runs.testing import FakeGlobus

from .conftest import START, sent

TRANSFER_ACTION_URL = "https://actions.automate.globus.org/transfer/transfer/run"


def client_of(info: dict[str, str], token: str) -> globus_sdk.FlowsClient:
    """A ``globus_sdk.FlowsClient`` on the emulator with ``token``."""
    return globus_sdk.FlowsClient(
        authorizer=globus_sdk.AccessTokenAuthorizer(token), base_url=info["flows_url"]
    )


# -- Flows ------------------------------------------------------------------------------------


def test_a_monitor_sees_no_managers_or_monitors_of_a_run(
    fake: FakeGlobus,
    info: dict[str, str],
    specific_flow: Callable[[str], globus_sdk.SpecificFlowClient],
    flow_id: str,
) -> None:
    watcher = str(uuid.uuid4())
    urn = f"urn:globus:auth:identity:{watcher}"
    started = specific_flow(flow_id).run_flow(
        {}, run_monitors=[urn], run_managers=[urn.replace(watcher, str(uuid.uuid4()))]
    )
    with client_of(info, fake.issue_token(identity_id=watcher)) as monitor:
        seen = monitor.get_run(started["run_id"])
    assert (seen["user_role"], seen["run_managers"], seen["run_monitors"]) == (
        "run_monitor",
        [],
        [],
    )
    assert started["run_monitors"] == [urn]  # the owner manages it and sees them


def test_only_the_flow_owner_sees_who_may_view_and_start_it(
    fake: FakeGlobus, info: dict[str, str], flows: globus_sdk.FlowsClient, flow_id: str
) -> None:
    owned = flows.get_flow(flow_id)
    with client_of(info, fake.issue_token()) as stranger:
        foreign = stranger.get_flow(flow_id)
    assert (owned["flow_viewers"], owned["flow_starters"]) == (
        ["public"],
        ["all_authenticated_users"],
    )
    assert (foreign["flow_viewers"], foreign["flow_starters"]) == ([], [])


def test_tags_are_normalized_on_start_and_update(
    flows: globus_sdk.FlowsClient,
    specific_flow: Callable[[str], globus_sdk.SpecificFlowClient],
    flow_id: str,
) -> None:
    started = specific_flow(flow_id).run_flow({}, tags=["  beam   line\t7 ", "x"])
    updated = flows.update_run(started["run_id"], tags=[" night\n shift "])
    assert (started["tags"], updated["tags"]) == (["beam line 7", "x"], ["night shift"])


def test_list_runs_takes_the_plural_role_spellings_and_a_time_without_comma(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    now = fake.clock.now()
    early, late = fake.add_runs(
        flow_id, 2, owner=identity_id, start=now - timedelta(hours=2), interval=3600
    )
    since = (now - timedelta(minutes=90)).isoformat()
    listed = flows.list_runs(
        filter_roles=["run_owner", "run_managers", "flow_run_monitors"],
        query_params={"filter_start_time": since},
    )
    assert [run["run_id"] for run in listed["runs"]] == [late]
    assert early != late


def test_list_flows_takes_the_plural_role_spellings_and_the_singular_ones(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    me = f"urn:globus:auth:identity:{identity_id}"
    managed = fake.add_flow(title="Managed", run_managers=[me])
    watched = fake.add_flow(title="Watched", run_monitors=[me])

    def listed(*roles: str) -> list[str]:
        return [flow["id"] for flow in flows.list_flows(filter_roles=roles)["flows"]]

    assert listed("run_managers") == listed("run_manager") == [managed]
    assert listed("run_monitors") == listed("run_monitor") == [watched]
    assert listed("flow_owner", "run_managers", "run_monitors") == [flow_id, managed, watched]
    assert sent(fake, "flows")[0].query == [("filter_roles", "run_managers")]
    with pytest.raises(globus_sdk.FlowsAPIError) as caught:
        flows.list_flows(filter_roles="flow_owners")
    error = caught.value.raw_json
    assert error is not None
    assert (caught.value.http_status, error["error"]["detail"][0]["loc"]) == (
        422,
        ["query", "filter_roles"],
    )


def test_list_runs_reads_the_deprecated_filter_role_cumulatively(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    me = f"urn:globus:auth:identity:{identity_id}"
    [owned] = fake.add_runs(flow_id, 1, owner=identity_id)
    [managed] = fake.add_runs(flow_id, 1, run_managers=[me])
    [watched] = fake.add_runs(flow_id, 1, run_monitors=[me])

    def listed(**query: str) -> set[str]:
        return {run["run_id"] for run in flows.list_runs(query_params=query)["runs"]}

    assert listed(filter_role="run_manager") == {managed, watched}
    assert listed(filter_role="run_monitor") == {watched}
    assert listed(filter_role="run_owner") == {owned}
    # filter_roles wins over the deprecated parameter.
    assert listed(filter_role="run_manager", filter_roles="run_owner") == {owned}
    first = flows.list_runs(query_params={"filter_role": "run_manager", "per_page": 1})
    second = flows.list_runs(marker=first["marker"])
    assert {run["run_id"] for run in [*first["runs"], *second["runs"]]} == {managed, watched}
    with pytest.raises(globus_sdk.FlowsAPIError) as caught:
        flows.list_runs(query_params={"filter_role": "flow_run_manager"})
    error = caught.value.raw_json
    assert error is not None
    assert (caught.value.http_status, error["error"]["detail"][0]["loc"]) == (
        422,
        ["query", "filter_role"],
    )


def test_list_flows_reads_the_deprecated_filter_role_cumulatively(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    me = f"urn:globus:auth:identity:{identity_id}"
    managed = fake.add_flow(title="Managed", run_managers=[me])
    watched = fake.add_flow(title="Watched", run_monitors=[me])

    def listed(**query: str) -> list[str]:
        return [flow["id"] for flow in flows.list_flows(query_params=query)["flows"]]

    assert listed(filter_role="run_manager") == [managed, watched]
    assert listed(filter_role="run_monitor") == [watched]
    assert listed(filter_role="flow_owner") == [flow_id]
    assert listed(filter_role="run_manager", filter_roles="flow_owner") == [flow_id]
    with pytest.raises(globus_sdk.FlowsAPIError) as caught:
        flows.list_flows(query_params={"filter_role": "run_managers"})
    assert caught.value.http_status == 422


def test_list_runs_reads_a_completion_time_without_comma_as_from_then_on(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    began = fake.clock.now()
    # 10 s long, started 60 s apart: done at +10 s and +70 s; the third still runs.
    done_early, done_late = fake.add_runs(
        flow_id, 2, owner=identity_id, start=began - timedelta(seconds=120), interval=60
    )
    [running] = fake.add_runs(flow_id, 1, owner=identity_id, start=began)
    since = (began - timedelta(seconds=60)).isoformat()

    def listed(value: str) -> set[str]:
        page = flows.list_runs(query_params={"filter_completion_time": value})
        return {run["run_id"] for run in page["runs"]}

    assert listed(since) == listed(f"{since},") == {done_late}
    assert listed(f",{since}") == {done_early}
    assert running not in listed((began - timedelta(hours=1)).isoformat())
    assert sent(fake, "flows")[0].query == [("filter_completion_time", since)]


def test_a_run_is_resumed_on_the_older_route_by_the_flows_own_client(
    fake: FakeGlobus,
    specific_flow: Callable[[str], globus_sdk.SpecificFlowClient],
    identity_id: str,
) -> None:
    pausing = fake.add_flow(duration=30, inactive_after=5, owner=identity_id)
    [run_id] = fake.add_runs(pausing, 1, owner=identity_id)
    fake.clock.advance(10)
    client = specific_flow(pausing)
    assert client.get(f"/runs/{run_id}")["status"] == "INACTIVE"
    resumed = client.post(f"/flows/{pausing}/{run_id}/resume")
    assert (resumed.http_status, resumed["run_id"], resumed["status"]) == (200, run_id, "ACTIVE")
    other = fake.add_flow(owner=identity_id)
    with pytest.raises(globus_sdk.GlobusAPIError) as caught:
        specific_flow(other).post(f"/flows/{other}/{run_id}/resume")
    assert (caught.value.http_status, caught.value.code) == (404, "NOT_FOUND")
    legacy = [r for r in sent(fake, "flows") if r.method == "POST"]
    assert [(r.path, r.body) for r in legacy] == [
        (f"/flows/{pausing}/{run_id}/resume", b""),
        (f"/flows/{other}/{run_id}/resume", b""),
    ]


def test_list_runs_pages_with_pagination_token(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    run_ids = fake.add_runs(flow_id, 3, owner=identity_id)
    first = flows.list_runs(query_params={"per_page": 2})
    second = flows.list_runs(query_params={"pagination_token": first["marker"]})
    listed = [run["run_id"] for run in [*first["runs"], *second["runs"]]]
    assert listed == run_ids[::-1]
    assert second["has_next_page"] is False


def test_run_logs_page_with_pagination_token_and_refuse_bad_values_with_400(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, flow_id: str, identity_id: str
) -> None:
    [run_id] = fake.add_runs(flow_id, 1, owner=identity_id)
    fake.clock.advance(60)
    first = flows.get_run_logs(run_id, limit=2)
    second = flows.get_run_logs(run_id, query_params={"pagination_token": first["marker"]})
    assert [e["code"] for e in first["entries"]] == ["FlowStarted", "ActionStarted"]
    assert second["entries"][0]["code"] == "ActionCompleted"
    with pytest.raises(globus_sdk.FlowsAPIError) as caught:
        flows.get_run_logs(run_id, query_params={"limit": "many"})
    assert caught.value.http_status == 400


def test_validate_run_refuses_invalid_metadata_with_400(
    specific_flow: Callable[[str], globus_sdk.SpecificFlowClient], flow_id: str
) -> None:
    with pytest.raises(globus_sdk.FlowsAPIError) as caught:
        specific_flow(flow_id).validate_run({}, run_managers=["bob"])
    assert caught.value.http_status == 400
    error = caught.value.raw_json
    assert error is not None
    assert error["error"]["detail"][0]["loc"] == ["body", "run_managers"]


def test_web_inputs_are_listed_open_by_default(
    fake: FakeGlobus, flows: globus_sdk.FlowsClient, identity_id: str
) -> None:
    asking = fake.add_flow(web_input={"title": "Ship it?"}, owner=identity_id)
    answered, waiting = fake.add_runs(asking, 2, owner=identity_id)
    fake.clock.advance(1)
    option = fake.flows[asking].web_input.options[0].option_id
    answered_input = fake.web_input_of(answered)
    assert answered_input is not None
    fake.respond_to_web_input(answered_input, option, identity_id=identity_id)
    open_ids = [item["id"] for item in flows.list_web_inputs()["web_input_summaries"]]
    every = flows.list_web_inputs(filter_states=["open", "closed"])["web_input_summaries"]
    assert open_ids == [fake.web_input_of(waiting)]
    assert len(every) == 2


# -- Timers -----------------------------------------------------------------------------------


EVERY_HOUR = globus_sdk.RecurringTimerSchedule(interval_seconds=3600)


def flow_timer(flow_id: str, name: str = "hourly") -> globus_sdk.FlowTimer:
    return globus_sdk.FlowTimer(
        flow_id=flow_id, name=name, schedule=EVERY_HOUR, body={"body": {"n": 1}}
    )


def test_create_timer_answers_the_v2_document(
    timers: globus_sdk.TimersClient, flow_id: str
) -> None:
    created = timers.create_timer(flow_timer(flow_id))["timer"]
    assert created["body"] == {"body": {"n": 1}}
    assert (created["number_of_runs"], created["number_of_errors"]) == (0, 0)
    assert (created["timer_type"], created["flow_id"], created["name"]) == (
        "flow",
        flow_id,
        "hourly",
    )
    assert created["callback_body"] == created["body"]  # what older clients read


def test_timer_activity_carries_the_fields_of_its_code(
    fake: FakeGlobus, timers: globus_sdk.TimersClient, flow_id: str
) -> None:
    began = fake.clock.now()
    job_id = timers.create_timer(flow_timer(flow_id))["timer"]["job_id"]
    fake.clock.advance(4)  # the first run (10 s long) is under way
    running = timers.get_job(job_id)["activity"]
    fake.clock.advance(20)
    waiting = timers.get_job(job_id)["activity"]
    timers.pause_job(job_id)
    paused = timers.get_job(job_id)["activity"]
    assert running == {
        "code": "run_in_progress",
        "start_timestamp": began.isoformat(timespec="microseconds"),
        "duration_seconds": 4.0,
    }
    assert waiting == {
        "code": "awaiting_next_run",
        "next_run": (began + timedelta(hours=1)).isoformat(timespec="microseconds"),
    }
    assert paused == {"code": "paused", "reason": "user"}


def test_list_jobs_gives_results_and_applies_its_filters(
    fake: FakeGlobus, timers: globus_sdk.TimersClient, flow_id: str
) -> None:
    began = fake.clock.now()
    first = timers.create_timer(flow_timer(flow_id, "a"))["timer"]["job_id"]
    fake.clock.advance(7200)  # fires at 0, 1 h and 2 h
    second = timers.create_timer(flow_timer(flow_id, "b"))["timer"]["job_id"]
    middle = (began + timedelta(hours=1)).isoformat()
    jobs = timers.list_jobs(query_params={"result_count": 2, "order": "name desc"})["jobs"]
    assert [job["job_id"] for job in jobs] == [second, first]
    assert [len(job["results"]["data"]) for job in jobs] == [1, 2]
    assert jobs[1]["results"]["page_next"] is not None
    after = timers.list_jobs(query_params={"submitted_after": middle})["jobs"]
    before = timers.list_jobs(query_params={"submitted_before": middle})["jobs"]
    assert ([j["job_id"] for j in after], [j["job_id"] for j in before]) == ([second], [first])
    timers.pause_job(first)
    active = timers.list_jobs(query_params={"filter_active": "true"})["jobs"]
    assert [job["job_id"] for job in active] == [second]
    with pytest.raises(globus_sdk.TimersAPIError) as caught:
        timers.list_jobs(query_params={"order": "colour"})
    assert caught.value.http_status == 422


def test_list_jobs_with_filter_stopped_lists_only_the_ended_timers(
    fake: FakeGlobus, timers: globus_sdk.TimersClient, flow_id: str
) -> None:
    once = globus_sdk.FlowTimer(
        flow_id=flow_id, name="once", schedule=globus_sdk.OnceTimerSchedule(), body={"body": {}}
    )
    ended = timers.create_timer(once)["timer"]["job_id"]
    hourly = timers.create_timer(flow_timer(flow_id))["timer"]["job_id"]
    paused = timers.create_timer(flow_timer(flow_id, "paused"))["timer"]["job_id"]
    timers.pause_job(paused)
    fake.clock.advance(60)

    def listed(**query: str) -> list[str]:
        return [job["job_id"] for job in timers.list_jobs(query_params=query)["jobs"]]

    assert listed(filter_stopped="true") == [ended]
    assert listed(filter_stopped="false") == [ended, hourly, paused]
    assert listed(filter_stopped="true", filter_active="true") == [ended, hourly]
    assert timers.get_job(ended)["status"] == "ended"
    with pytest.raises(globus_sdk.TimersAPIError) as caught:
        timers.list_jobs(query_params={"filter_stopped": "sometimes"})
    assert caught.value.http_status == 422


def test_a_refused_submission_records_a_run_status(
    fake: FakeGlobus, timers: globus_sdk.TimersClient, identity_id: str
) -> None:
    job_id = fake.add_timer(str(uuid.uuid4()), {}, owner=identity_id)
    [result] = timers.get_job(job_id)["results"]["data"]
    assert (result["run_status"], result["status"], result["errors"]["error"]["code"]) == (
        "FAILED",
        404,
        "NOT_FOUND",
    )


def test_create_timer_makes_a_transfer_timer(
    fake: FakeGlobus, timers: globus_sdk.TimersClient
) -> None:
    data = globus_sdk.TransferData(
        source_endpoint=str(uuid.uuid4()), destination_endpoint=str(uuid.uuid4())
    )
    data.add_item("/src/a", "/dst/a")
    created = timers.create_timer(
        globus_sdk.TransferTimer(name="mirror", schedule=EVERY_HOUR, body=data)
    )
    timer = created["timer"]
    assert created.http_status == 201
    assert (timer["timer_type"], timer["name"], timer["body"]["DATA"][0]["source_path"]) == (
        "transfer",
        "mirror",
        "/src/a",
    )
    [request] = [r for r in sent(fake, "timers") if r.method == "POST"]
    assert request.json["timer"]["timer_type"] == "transfer"
    [result] = timers.get_job(timer["job_id"])["results"]["data"]
    assert result["run_status"] == "SUCCEEDED"


def test_create_job_makes_a_timer_the_older_way(
    fake: FakeGlobus, timers: globus_sdk.TimersClient, flow_id: str
) -> None:
    job = globus_sdk.TimerJob(
        callback_url=f"https://flows.automate.globus.org/flows/{flow_id}/run",
        callback_body={"body": {"n": 2}},
        start=fake.clock.now(),
        interval=timedelta(hours=1),
        name="older",
        stop_after_n=2,
    )
    created = timers.create_job(job)
    assert created.http_status == 201
    assert (created["name"], created["flow_id"], created["stop_after"]["n_runs"]) == (
        "older",
        flow_id,
        2,
    )
    fake.clock.advance(3 * 3600)
    assert timers.get_job(created["job_id"])["number_of_runs"] == 2
    with pytest.raises(globus_sdk.TimersAPIError) as caught:
        timers.create_job(
            globus_sdk.TimerJob(
                callback_url="https://example.org/hook",
                callback_body={},
                start=START,
                interval=None,
            )
        )
    assert caught.value.http_status == 422


def test_create_job_makes_a_transfer_timer_shaped_like_the_sdk_fixture(
    fake: FakeGlobus, timers: globus_sdk.TimersClient
) -> None:
    response = get_response_set(globus_sdk.TimersClient.create_job).lookup("default")
    assert isinstance(response, RegisteredResponse)
    shape = response.json
    assert isinstance(shape, dict)
    job = globus_sdk.TimerJob(
        callback_url=shape["callback_url"],
        callback_body=shape["callback_body"],
        start=fake.clock.now(),
        interval=int(shape["interval"]),
        name=shape["name"],
    )
    created = timers.create_job(job)
    assert created.http_status == 201
    assert (created["timer_type"], created["name"], created["callback_body"]) == (
        "transfer",
        shape["name"],
        shape["callback_body"],
    )
    [request] = [r for r in sent(fake, "timers") if r.method == "POST"]
    assert request.json["callback_body"]["body"]["transfer_items"][0]["recursive"] is False
    [result] = timers.get_job(created["job_id"])["results"]["data"]
    assert result["run_status"] == "SUCCEEDED"


def test_create_job_takes_the_transfer_api_names_in_the_wrapper_and_the_bare_task(
    fake: FakeGlobus, timers: globus_sdk.TimersClient
) -> None:
    source, destination = str(uuid.uuid4()), str(uuid.uuid4())
    item = {"source_path": "/src/a", "destination_path": "/dst/a"}
    task = {"source_endpoint": source, "destination_endpoint": destination, "DATA": [item]}
    for callback_body in ({"body": task}, task):
        job = globus_sdk.TimerJob(
            callback_url=TRANSFER_ACTION_URL,
            callback_body=callback_body,
            start=fake.clock.now(),
            interval=None,
        )
        created = timers.create_job(job)
        assert (created.http_status, created["callback_body"]) == (201, callback_body)


def test_create_job_refuses_a_transfer_action_input_without_its_endpoints_or_items(
    fake: FakeGlobus, timers: globus_sdk.TimersClient
) -> None:
    job = globus_sdk.TimerJob(
        callback_url=TRANSFER_ACTION_URL,
        callback_body={"body": {"source_endpoint_id": str(uuid.uuid4()), "DATA": "none"}},
        start=fake.clock.now(),
        interval=None,
    )
    with pytest.raises(globus_sdk.TimersAPIError) as caught:
        timers.create_job(job)
    assert caught.value.http_status == 422
    assert caught.value.messages == [
        "field required: body.callback_body.body.destination_endpoint",
        "field required: body.callback_body.body.DATA",
    ]
