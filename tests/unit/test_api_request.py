"""A request as the service layers build it: its repr and str never show a body or the extra
headers (a token request's refresh token or client secret)."""

from __future__ import annotations

from globus_runs._wire import ApiRequest


def assert_free_of(text: str, secrets: set[str]) -> None:
    leaked = [secret for secret in secrets if secret in text]
    assert not leaked, f"secret shown in {text!r}"


def test_an_api_request_shows_no_body_or_extra_headers() -> None:
    request = ApiRequest(
        "POST",
        "/v2/oauth2/token",
        resource_server="auth.globus.org",
        body=b"grant_type=refresh_token&refresh_token=refresh-token-value",
        headers=(("Authorization", "Basic c2VjcmV0LXZhbHVl"),),
    )
    assert_free_of(repr(request), {"refresh-token-value", "c2VjcmV0LXZhbHVl"})
    assert_free_of(str(request), {"refresh-token-value", "c2VjcmV0LXZhbHVl"})
