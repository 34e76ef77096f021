"""``globus_sdk.ConfidentialAppAuthClient`` against the emulated token endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import globus_sdk
import httpx
import pytest
from globus_sdk.scopes import FlowsScopes, SpecificFlowScopes, TimersScopes

from globus_runs.testing import FakeGlobus

from .conftest import sent

TIMERS = "524230d7-ea86-4a52-8312-86065a9e0417"


@pytest.fixture
def auth_client(
    fake: FakeGlobus, info: dict[str, Any]
) -> Iterator[globus_sdk.ConfidentialAppAuthClient]:
    """A confidential client registered with the emulator, on its Auth service."""
    client_id, secret = fake.add_client()
    with globus_sdk.ConfidentialAppAuthClient(
        client_id, secret, base_url=info["auth_url"]
    ) as client:
        yield client


def test_client_credentials_grant_a_token_flows_accepts(
    fake: FakeGlobus,
    info: dict[str, Any],
    auth_client: globus_sdk.ConfidentialAppAuthClient,
    flow_id: str,
) -> None:
    tokens = auth_client.oauth2_client_credentials_tokens([FlowsScopes.run_status])
    granted = tokens.by_resource_server["flows.globus.org"]
    assert granted["scope"] == str(FlowsScopes.run_status)
    [run_id] = fake.add_runs(flow_id, 1, owner=str(auth_client.client_id))
    authorizer = globus_sdk.AccessTokenAuthorizer(granted["access_token"])
    with globus_sdk.FlowsClient(authorizer=authorizer, base_url=info["flows_url"]) as flows:
        assert [run["run_id"] for run in flows.list_runs()["runs"]] == [run_id]


def test_a_dependent_scope_is_granted_for_its_outer_resource_server(
    fake: FakeGlobus,
    info: dict[str, Any],
    auth_client: globus_sdk.ConfidentialAppAuthClient,
    flow_id: str,
) -> None:
    scope = TimersScopes.timer.with_dependency(SpecificFlowScopes(flow_id).user)
    tokens = auth_client.oauth2_client_credentials_tokens(scope)
    assert list(tokens.by_resource_server) == [TIMERS]
    granted = tokens.by_resource_server[TIMERS]
    assert granted["scope"] == str(TimersScopes.timer)
    [request] = sent(fake, "auth")
    assert dict(httpx.QueryParams(request.body.decode()))["scope"] == (
        f"{TimersScopes.timer}[{SpecificFlowScopes(flow_id).user}]"
    )
    authorizer = globus_sdk.AccessTokenAuthorizer(granted["access_token"])
    with globus_sdk.TimersClient(authorizer=authorizer, base_url=info["timers_url"]) as timers:
        assert timers.list_jobs()["jobs"] == []


def test_a_client_credentials_authorizer_fetches_tokens_as_needed(
    fake: FakeGlobus,
    info: dict[str, Any],
    auth_client: globus_sdk.ConfidentialAppAuthClient,
    flow_id: str,
) -> None:
    authorizer = globus_sdk.ClientCredentialsAuthorizer(
        auth_client, SpecificFlowScopes(flow_id).user
    )
    flow = globus_sdk.SpecificFlowClient(flow_id, authorizer=authorizer)
    flow.base_url = info["flows_url"]
    with flow:
        run = flow.run_flow({})
    assert run["run_owner"] == f"urn:globus:auth:identity:{auth_client.client_id}"
    assert [r.path for r in sent(fake, "auth")] == ["/v2/oauth2/token"]


def test_an_unknown_outer_scope_is_an_invalid_scope_error(
    auth_client: globus_sdk.ConfidentialAppAuthClient, flow_id: str
) -> None:
    with pytest.raises(globus_sdk.AuthAPIError) as caught:
        auth_client.oauth2_client_credentials_tokens(
            f"https://example.org/not-a-scope[{SpecificFlowScopes(flow_id).user}]"
        )
    assert caught.value.http_status == 400
    assert caught.value.raw_json == {
        "error": "invalid_scope",
        "error_description": "Unknown scope: https://example.org/not-a-scope",
    }


def test_a_wrong_secret_is_an_invalid_client_error(fake: FakeGlobus, info: dict[str, Any]) -> None:
    client_id, _ = fake.add_client()
    with (
        globus_sdk.ConfidentialAppAuthClient(
            client_id, "wrong", base_url=info["auth_url"]
        ) as client,
        pytest.raises(globus_sdk.AuthAPIError) as caught,
    ):
        client.oauth2_client_credentials_tokens([FlowsScopes.run_status])
    assert caught.value.http_status == 401
    assert caught.value.raw_json is not None
    assert caught.value.raw_json["error"] == "invalid_client"
