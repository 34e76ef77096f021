"""How long a wait rides out failing polls: the client's retry policy, since the last success."""

from __future__ import annotations

import anyio

from .._errors import GlobusRunsError, NetworkError, RateLimitError, ServerError
from .._retry import RetryPolicy

__all__ = ["TRANSIENT_ERRORS", "FailedPolls"]

#: Errors a wait polls through (up to the bound below); any other error ends the wait at once.
TRANSIENT_ERRORS = (NetworkError, ServerError, RateLimitError)


class FailedPolls:
    """Counts the polls that failed in a row and says when a wait must give up.

    A wait gives up on the ``policy.max_retries + 1``-th failed poll in a row (the attempts
    one request gets), or on a failed poll once ``policy.max_elapsed`` seconds have passed
    since the last successful poll (or since the wait began). Each poll is itself retried by
    the transport first, so a wait outlasts a single request's retries.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self._attempts = policy.max_retries + 1
        self._max_elapsed = policy.max_elapsed
        self._failures = 0
        self._since = 0.0

    def begin(self) -> None:
        """The wait starts: the elapsed time counts from now until a poll succeeds."""
        self._failures = 0
        self._since = anyio.current_time()

    def succeeded(self) -> None:
        """A poll was answered: the count and the clock start again."""
        self.begin()

    def exhausted(self, error: GlobusRunsError) -> bool:
        """Record a failed poll; return True when the wait must raise ``error`` now."""
        self._failures += 1
        if self._failures >= self._attempts:
            return True
        elapsed = anyio.current_time() - self._since
        return self._max_elapsed is not None and elapsed >= self._max_elapsed
