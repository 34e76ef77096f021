"""The emulated token endpoint's logic, without HTTP: scopes, forms and registrations."""

from __future__ import annotations

import pytest

from globus_runs.testing import FakeGlobus
from globus_runs.testing._oauth import OAuthError, parse_form, parse_scopes, resource_server_of
from tests.auth._support import FLOWS, FLOWS_ALL, TIMERS, TIMERS_SCOPE, flow_scope

FLOW_ID = "0b3fd2b5-6d5e-4a5a-a0c6-bf4ab0a4d2d1"
TRANSFER = "urn:globus:auth:scope:transfer.api.globus.org:all"
# What ``globus timer create flow`` asks for.
TIMER_FOR_FLOW = f"{TIMERS_SCOPE}[{flow_scope(FLOW_ID)}]"


@pytest.mark.parametrize(
    ("scope", "resource_server"),
    [
        (FLOWS_ALL, FLOWS),
        (flow_scope(FLOW_ID), FLOW_ID),
        (TIMERS_SCOPE, TIMERS),
        ("urn:globus:auth:scope:transfer.api.globus.org:all", "transfer.api.globus.org"),
        ("openid", "auth.globus.org"),
    ],
)
def test_a_scope_belongs_to_its_resource_server(scope: str, resource_server: str) -> None:
    assert resource_server_of(scope) == resource_server


@pytest.mark.parametrize(
    "scope", ["all", "https://auth.globus.org/scopes/", "https://example.org/scopes/x/y"]
)
def test_an_unknown_scope_is_invalid_scope(scope: str) -> None:
    with pytest.raises(OAuthError) as caught:
        resource_server_of(scope)
    assert (caught.value.status, caught.value.error) == (400, "invalid_scope")


def test_scopes_are_split_on_spaces_and_deduplicated_in_order() -> None:
    assert parse_scopes(f"{TIMERS_SCOPE}  {FLOWS_ALL} {TIMERS_SCOPE}") == (TIMERS_SCOPE, FLOWS_ALL)


def test_no_scope_is_invalid_scope() -> None:
    with pytest.raises(OAuthError) as caught:
        parse_scopes(" ")
    assert caught.value.body == {
        "error": "invalid_scope",
        "error_description": "No scope requested",
    }


def test_a_form_field_given_twice_is_invalid_request() -> None:
    with pytest.raises(OAuthError) as caught:
        parse_form(b"scope=a&scope=b", "application/x-www-form-urlencoded")
    assert caught.value.body == {
        "error": "invalid_request",
        "error_description": "Parameter scope given more than once",
    }


def test_a_form_with_a_charset_is_read() -> None:
    form = parse_form(
        b"grant_type=refresh_token&client_id=a%2Bb",
        "application/x-www-form-urlencoded; charset=utf-8",
    )
    assert form == {"grant_type": "refresh_token", "client_id": "a+b"}


def test_add_client_makes_up_an_id_and_a_secret() -> None:
    fake = FakeGlobus()
    client_id, secret = fake.add_client()
    registered = fake.auth_service.clients[client_id]
    assert (registered.secret, registered.identity_id) == (secret, client_id)
    assert secret not in repr(registered)


def test_add_client_refuses_an_id_already_registered() -> None:
    fake = FakeGlobus()
    fake.add_client("my-client", "s3cret")
    with pytest.raises(ValueError, match="already registered"):
        fake.add_client("my-client")


def test_issue_refresh_token_refuses_an_unknown_client() -> None:
    with pytest.raises(ValueError, match="not registered"):
        FakeGlobus().issue_refresh_token("no-such-client", FLOWS_ALL)


def test_issue_refresh_token_refuses_an_unknown_scope() -> None:
    fake = FakeGlobus()
    client_id = fake.add_native_client()
    with pytest.raises(ValueError, match="Unknown scope: bogus"):
        fake.issue_refresh_token(client_id, [FLOWS_ALL, "bogus"])


@pytest.mark.parametrize("seconds", [0, -1, 1.5, True])
def test_token_lifetime_must_be_a_positive_int(seconds: int) -> None:
    fake = FakeGlobus()
    with pytest.raises(ValueError, match="token_lifetime"):
        fake.token_lifetime = seconds


@pytest.mark.parametrize(
    ("scope", "resource_server"),
    [
        (TIMER_FOR_FLOW, TIMERS),
        (f"{TIMERS_SCOPE}[{flow_scope(FLOW_ID)}[{TRANSFER} openid]]", TIMERS),
        (f"{FLOWS_ALL}[{TRANSFER}]", FLOWS),
    ],
)
def test_a_scope_with_dependent_scopes_belongs_to_its_outer_scope(
    scope: str, resource_server: str
) -> None:
    assert resource_server_of(scope) == resource_server


@pytest.mark.parametrize(
    ("scope", "description"),
    [
        (f"{TIMERS_SCOPE}[]", f"Malformed scope string: {TIMERS_SCOPE}[]"),
        (f"{TIMERS_SCOPE}[openid", f"Malformed scope string: {TIMERS_SCOPE}[openid"),
        (f"{TIMERS_SCOPE}[openid]x", f"Malformed scope string: {TIMERS_SCOPE}[openid]x"),
        ("[openid]", "Malformed scope string: [openid]"),
        (f"{TIMERS_SCOPE}[bogus]", "Unknown scope: bogus"),
        ("bogus[openid]", "Unknown scope: bogus"),
    ],
)
def test_a_malformed_or_unknown_dependent_scope_is_invalid_scope(
    scope: str, description: str
) -> None:
    with pytest.raises(OAuthError) as caught:
        resource_server_of(scope)
    assert caught.value.body == {"error": "invalid_scope", "error_description": description}


def test_spaces_inside_brackets_do_not_split_the_scope_string() -> None:
    text = f"{TIMERS_SCOPE}[{flow_scope(FLOW_ID)} openid] {FLOWS_ALL}"
    assert parse_scopes(text) == (f"{TIMERS_SCOPE}[{flow_scope(FLOW_ID)} openid]", FLOWS_ALL)
