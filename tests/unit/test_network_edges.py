"""The edges of the network core: values that cannot be sent, which hosts plain http may
reach, proxies, TLS and event loops (each on asyncio and trio where it awaits)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from globus_runs import (
    ClientCredentialsAuthorizer,
    ConfigurationError,
    FlowsClient,
    InvalidRequestError,
    _wire,
)
from globus_runs.testing import FakeGlobus

pytestmark = pytest.mark.anyio

LONE_SURROGATE = "label \ud800"


# -- values that cannot be sent ----------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(
            lambda flows, flow_id: flows.list_runs(filter_label=LONE_SURROGATE), id="query"
        ),
        pytest.param(
            lambda flows, flow_id: flows.list_runs(filter_roles=["run_owner", LONE_SURROGATE]),
            id="query-list",
        ),
        pytest.param(
            lambda flows, flow_id: flows.run_flow(flow_id, {"a": LONE_SURROGATE}), id="body"
        ),
        pytest.param(
            lambda flows, flow_id: flows.run_flow(flow_id, {}, label=LONE_SURROGATE), id="label"
        ),
    ],
)
async def test_a_value_with_no_utf8_form_is_refused_before_sending(
    fake: FakeGlobus, call: Any
) -> None:
    flow_id = fake.add_flow()
    async with fake.flows_client() as flows:
        with pytest.raises(InvalidRequestError) as caught:
            await call(flows, flow_id)
    assert "\ud800" not in str(caught.value)
    assert fake.requests == []


async def test_a_scope_with_no_utf8_form_is_refused_before_the_token_request(
    fake: FakeGlobus,
) -> None:
    client_id, secret = fake.add_client()
    authorizer = ClientCredentialsAuthorizer(
        client_id, secret, [LONE_SURROGATE], auth_url=fake.auth_url
    )
    async with fake.flows_client(authorizer=authorizer) as flows:
        with pytest.raises(InvalidRequestError, match="token request cannot be sent"):
            await flows.get_run("00000000-0000-4000-8000-000000000001")
    assert fake.requests == []


# -- plain http: literal loopback, or localhost resolving to it -------------------------------


@pytest.mark.parametrize(
    "url", ["http://a.localhost", "http://flows.localhost:8000", "http://localhost.localdomain"]
)
def test_plain_http_to_a_name_under_localhost_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="must use https"):
        FlowsClient(authorizer="token-for-the-test", base_url=url)


def test_plain_http_to_localhost_needs_it_to_resolve_to_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def resolver(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        assert host == "localhost"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 0))]

    _wire._localhost_is_loopback.cache_clear()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    try:
        with pytest.raises(ConfigurationError, match="does not resolve to loopback"):
            FlowsClient(authorizer="token-for-the-test", base_url="http://localhost:8000")
        # A literal address needs no resolver.
        FlowsClient(authorizer="token-for-the-test", base_url="http://127.0.0.1:8000")
    finally:
        _wire._localhost_is_loopback.cache_clear()


def test_plain_http_to_localhost_resolving_to_loopback_is_accepted() -> None:
    _wire._localhost_is_loopback.cache_clear()
    assert _wire.check_base_url("http://localhost:8000/flows/") == "http://localhost:8000/flows"
