"""The retry policy's decisions, without sleeping."""

from __future__ import annotations

import pytest

from globus_runs import APITimeoutError, ConnectError, NetworkError, RetryPolicy
from globus_runs._wire import error_from_response


def test_backoff_doubles_up_to_the_maximum_without_jitter() -> None:
    policy = RetryPolicy(backoff_initial=0.5, backoff_max=3.0, jitter=False)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_stays_within_half_and_full_backoff() -> None:
    policy = RetryPolicy(backoff_initial=1.0, backoff_max=8.0)
    assert policy.backoff(3, rng=lambda: 0.0) == 2.0
    assert policy.backoff(3, rng=lambda: 0.999) == pytest.approx(3.998)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_for_idempotent_requests(status: int) -> None:
    assert RetryPolicy().is_retryable(error_from_response(status, ""), idempotent=True)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert not RetryPolicy().is_retryable(error_from_response(status, ""), idempotent=True)


def test_starting_a_run_is_retried_only_when_it_provably_did_not_happen() -> None:
    policy = RetryPolicy()
    assert policy.is_retryable(ConnectError("refused"), idempotent=False)
    assert policy.is_retryable(error_from_response(429, ""), idempotent=False)
    assert not policy.is_retryable(error_from_response(500, ""), idempotent=False)
    assert not policy.is_retryable(error_from_response(503, ""), idempotent=False)
    assert not policy.is_retryable(APITimeoutError("read timeout"), idempotent=False)
    assert not policy.is_retryable(NetworkError("reset"), idempotent=False)
    assert policy.is_retryable(APITimeoutError("read timeout"), idempotent=True)


def test_retry_after_is_honoured_as_given_or_refused_when_too_long() -> None:
    policy = RetryPolicy(retry_after_max=60.0)
    assert policy.delay_for(error_from_response(429, "", headers={"retry-after": "42"}), 1) == 42.0
    assert policy.delay_for(error_from_response(429, "", headers={"retry-after": "61"}), 1) is None


def test_disabled_policy_never_retries() -> None:
    assert RetryPolicy.disabled().max_retries == 0
