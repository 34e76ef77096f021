"""When to retry a request and how long to wait first. Pure: the transport does the sleeping."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

import attrs

from ._errors import APIError, ConnectError, GlobusRunsError, NetworkError

__all__ = ["RetryEvent", "RetryPolicy", "ambiguous", "rate_limit_listener", "retry_delay"]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

#: Told of every 429 seen by requests of the current task (with the seconds the service asked
#: to wait), so a batch can pause all its workers rather than only the one request.
rate_limit_listener: ContextVar[Callable[[float], None] | None] = ContextVar(
    "globus_runs_rate_limit_listener", default=None
)


@attrs.frozen
class RetryEvent:
    """What ``RetryPolicy.on_retry`` is told before each retry sleep."""

    method: str
    url: str
    attempt: int
    delay: float
    error: GlobusRunsError


@attrs.frozen
class RetryPolicy:
    """Which failures are retried, how often and how long to wait in between.

    Connection errors and 429/500/502/503/504 are retried up to ``max_retries`` times with
    exponential backoff (``backoff_initial`` doubling up to ``backoff_max``, with full jitter),
    within ``max_elapsed`` seconds overall, and never past the caller's deadline. A
    ``Retry-After`` is slept as given when it is at most ``retry_after_max``; a longer one
    raises at once. A run start (``run_flow``) is sent again only when the request provably
    never reached the server, or on 429; with ``exactly_once_starts`` it is also sent again
    after an ambiguous failure once a look-up showed that no run was started.

    Example::

        flows = FlowsClient(authorizer=token, retry=RetryPolicy(max_retries=8, backoff_max=30))
        no_retries = RetryPolicy.disabled()
    """

    max_retries: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    retry_after_max: float = 60.0
    max_elapsed: float | None = 300.0
    jitter: bool = True
    exactly_once_starts: bool = False
    on_retry: Callable[[RetryEvent], Awaitable[None] | None] | None = attrs.field(
        default=None, eq=False
    )

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries (handy in tests).

        Example::

            flows = FlowsClient(authorizer=token, retry=RetryPolicy.disabled())
        """
        return cls(max_retries=0)

    def backoff(self, retry_number: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based), without a server hint.

        Example::

            RetryPolicy(jitter=False).backoff(3)  # 2.0: 0.5 doubled twice
        """
        ceiling = min(self.backoff_max, self.backoff_initial * (2.0 ** (retry_number - 1)))
        if not self.jitter:
            return ceiling
        # Full jitter spreads many clients' retries instead of synchronizing them.
        return ceiling / 2 + rng() * ceiling / 2

    def is_retryable(self, error: GlobusRunsError, *, idempotent: bool) -> bool:
        """Whether ``error`` may be retried for a request of this kind.

        Example::

            policy.is_retryable(error, idempotent=False)  # True for 429 and connect errors
        """
        if isinstance(error, APIError):
            if error.http_status == 429:
                return True
            return idempotent and error.http_status in RETRYABLE_STATUSES
        if isinstance(error, ConnectError):
            return True
        if isinstance(error, NetworkError):
            # The request may have been processed: only safe when repeating it is harmless.
            return idempotent
        return False

    def delay_for(
        self, error: GlobusRunsError, retry_number: int, rng: Callable[[], float] = random.random
    ) -> float | None:
        """Seconds to sleep before this retry, or ``None`` when the error must be raised now.

        Example::

            delay = policy.delay_for(error, retry_number=1)
            if delay is None:
                raise error
        """
        if isinstance(error, APIError) and error.retry_after is not None:
            if error.retry_after > self.retry_after_max:
                return None
            return error.retry_after
        return self.backoff(retry_number, rng)


def retry_delay(
    policy: RetryPolicy,
    error: GlobusRunsError,
    retry_number: int,
    *,
    idempotent: bool | None,
    elapsed: float,
    time_left: float,
) -> float | None:
    """The one decision whether to retry: seconds to wait before retry ``retry_number``
    (1-based), or None when ``error`` must be raised now.

    Retryable by the policy for a request of this idempotence (``None``: a look-up, not the
    request, is repeated, so any error is), within ``max_retries``, within ``max_elapsed``
    counting ``elapsed`` and the wait, and ending before the caller's deadline
    (``time_left`` seconds away): sleeping past it would only turn the error into a
    cancellation.
    """
    if retry_number > policy.max_retries:
        return None
    if idempotent is not None and not policy.is_retryable(error, idempotent=idempotent):
        return None
    delay = policy.delay_for(error, retry_number)
    if delay is None:
        return None
    if policy.max_elapsed is not None and elapsed + delay > policy.max_elapsed:
        return None
    if delay >= time_left:
        return None
    return delay


def ambiguous(error: GlobusRunsError) -> bool:
    """Whether the request may or may not have had an effect: a 5xx, or no complete answer
    without proof that the request never left."""
    if isinstance(error, APIError):
        return error.http_status >= 500
    return isinstance(error, NetworkError) and not isinstance(error, ConnectError)
