"""``python -m globus_runs.testing serve`` found by ``globus-sdk`` through its environment
variables, as the README shows, with a confidential client given by ``--client``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import globus_sdk
import pytest
from globus_sdk.scopes import TimersScopes

from globus_runs.testing import serve_in_subprocess

CLIENT_ID = "8f8a1e4c-4c5c-4d1e-9d5c-2a7e1d2b3c4d"
SECRET = "s3cret"


@pytest.fixture(scope="module")
def line() -> Iterator[dict[str, Any]]:
    """The startup line of a server with one client registered."""
    with serve_in_subprocess(clients=[f"{CLIENT_ID}:{SECRET}"]) as info:
        yield info


@pytest.fixture
def sdk_env(line: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """globus-sdk's service URL variables pointing at the server."""
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_FLOWS", line["flows_url"])
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_TIMER", line["timers_url"])
    monkeypatch.setenv("GLOBUS_SDK_SERVICE_URL_AUTH", line["auth_url"])
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return line


def test_the_startup_line_says_what_each_sample_flow_does(line: dict[str, Any]) -> None:
    assert line["flows"] == [
        {
            "id": line["flow_ids"][0],
            "title": "Sample Succeeding Flow",
            "runs": "succeeds 3 s after it starts",
        },
        {
            "id": line["flow_ids"][1],
            "title": "Sample Failing Flow",
            "runs": "fails (ActionFailedException) 3 s after it starts",
        },
        {
            "id": line["flow_ids"][2],
            "title": "Sample Inactive Flow",
            "runs": "goes INACTIVE (ConsentRequired) 2 s after it starts; "
            "once resumed, succeeds 4 s later",
        },
        {
            "id": line["flow_ids"][3],
            "title": "Sample Approval Flow",
            "runs": "waits 1 s after it starts for a person to answer the web input "
            "'Approve this sample run?'; the option chosen decides how it ends "
            "(Approve: SUCCEEDED, Reject: FAILED)",
        },
        {
            "id": line["flow_ids"][4],
            "title": "Sample Consent Flow",
            "runs": "goes INACTIVE (ConsentRequired) when it starts until its owner consents "
            "to the flow's scope; once resumed, succeeds 3 s later",
        },
    ]
    assert line["client_ids"] == [CLIENT_ID]
    assert line["flows_url"] == f"http://127.0.0.1:{line['port']}/flows/"


def test_the_sdk_finds_the_flows_through_its_environment(sdk_env: dict[str, Any]) -> None:
    authorizer = globus_sdk.AccessTokenAuthorizer(sdk_env["token"])
    with globus_sdk.FlowsClient(authorizer=authorizer) as flows:
        assert flows.base_url == sdk_env["flows_url"]
        listed = [flow["id"] for flow in flows.paginated.list_flows().items()]
    assert listed == sdk_env["flow_ids"]


def test_the_token_holder_has_a_sample_timer_that_has_run(sdk_env: dict[str, Any]) -> None:
    authorizer = globus_sdk.AccessTokenAuthorizer(sdk_env["token"])
    with globus_sdk.TimersClient(authorizer=authorizer) as timers:
        [job] = timers.list_jobs()["jobs"]
    assert job["job_id"] in sdk_env["timer_ids"]
    assert (job["name"], job["flow_id"]) == ("Sample Hourly Timer", sdk_env["flow_ids"][0])
    assert job["number_of_runs"] == 1


def test_a_registered_client_gets_tokens_and_its_own_sample_timer(
    sdk_env: dict[str, Any],
) -> None:
    with globus_sdk.ConfidentialAppAuthClient(CLIENT_ID, SECRET) as auth:
        authorizer = globus_sdk.ClientCredentialsAuthorizer(auth, TimersScopes.timer)
        with globus_sdk.TimersClient(authorizer=authorizer) as timers:
            [job] = timers.list_jobs()["jobs"]
    assert job["job_id"] in sdk_env["timer_ids"]
    assert job["name"] == "Sample Hourly Timer"
