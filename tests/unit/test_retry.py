"""The retry policy's decisions, without sleeping."""

from __future__ import annotations

import functools
import math

import pytest

from globus_runs import (
    APIError,
    APITimeoutError,
    ConnectError,
    InvalidRequestError,
    NetworkError,
    RetryPolicy,
)
from globus_runs._retry import ambiguous, retry_delay
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


def _server_error(status: int = 503, retry_after: float | None = None) -> APIError:
    return error_from_response(
        status, "{}", headers={} if retry_after is None else {"retry-after": str(retry_after)}
    )


def test_retry_delay_is_the_one_decision_from_idempotence_and_error() -> None:
    policy = RetryPolicy(jitter=False, max_retries=3, max_elapsed=100.0)
    decide = functools.partial(retry_delay, policy, elapsed=0.0, time_left=math.inf)
    assert decide(_server_error(), 1, idempotent=True) == 0.5
    assert decide(_server_error(), 1, idempotent=False) is None  # a 5xx may have had an effect
    assert decide(_server_error(429), 1, idempotent=False) == 0.5
    assert decide(ConnectError("refused"), 2, idempotent=False) == 1.0  # never left
    assert decide(NetworkError("reset"), 1, idempotent=False) is None
    assert decide(_server_error(), 1, idempotent=None) == 0.5  # a look-up: any error
    assert decide(_server_error(), 4, idempotent=True) is None  # past max_retries
    assert decide(InvalidRequestError("bad"), 1, idempotent=True) is None


def test_retry_delay_keeps_within_max_elapsed_and_the_callers_deadline() -> None:
    policy = RetryPolicy(jitter=False, max_elapsed=10.0, retry_after_max=60.0)
    error = _server_error(retry_after=3.0)
    assert retry_delay(policy, error, 1, idempotent=True, elapsed=7.0, time_left=5.0) == 3.0
    assert retry_delay(policy, error, 1, idempotent=True, elapsed=7.5, time_left=5.0) is None
    assert retry_delay(policy, error, 1, idempotent=True, elapsed=0.0, time_left=3.0) is None


def test_ambiguous_failures_are_5xx_and_answers_lost_after_sending() -> None:
    assert ambiguous(_server_error(502))
    assert ambiguous(NetworkError("reset"))
    assert not ambiguous(ConnectError("refused"))
    assert not ambiguous(_server_error(429))
