"""The seam between the attempt loop and the ways a request goes out.

A :class:`Sender` sends one :class:`Prepared` request within the given :class:`Bounds` and
returns status, headers and the whole body (decoded, bounded), or raises one of the core's own
errors: a :class:`~globus_runs.ConnectError` only when the request provably never reached the
server. Nothing above the seam knows which sender it talks to; a sender adds only framing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import attrs

from .._body import DEFAULT_MAX_RESPONSE_SIZE
from .._errors import ConfigurationError

if TYPE_CHECKING:
    from .._wire import ApiRequest

__all__ = ["LIMIT_EXTENSION", "Answer", "Bounds", "Prepared", "Sender"]

#: Status, headers (name and value as received) and body of one answer.
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
#: The request extension by which a sender through ``httpx.AsyncClient`` tells the library's
#: pool (``PoolTransport``) the answer's size limit, so the pool stops reading at that size.
LIMIT_EXTENSION = "globus_runs.max_response_size"


@attrs.frozen
class Bounds:
    """What one attempt may take, whichever way it goes out: the whole attempt (``attempt``
    seconds: connecting, sending and reading), each phase (``timeouts``: ``connect``,
    ``read`` (the longest silence), ``write``, ``pool``) and the answer's body
    (``max_response_size`` bytes, as received and decoded). Enforced once by each sender.
    """

    attempt: float | None
    timeouts: dict[str, float | None] = attrs.field(hash=False)
    max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE

    @classmethod
    def of(cls, timeout: float | None, max_response_size: int) -> Bounds:
        """The bounds of a client's ``timeout`` (each phase and each attempt alike)."""
        if (
            not isinstance(max_response_size, int)
            or isinstance(max_response_size, bool)
            or max_response_size < 1
        ):
            raise ConfigurationError("max_response_size must be a positive int")
        phases = ("connect", "read", "write", "pool")
        return cls(timeout, dict.fromkeys(phases, timeout), max_response_size)


class Prepared:
    """One request as it goes out, built once (:func:`~globus_runs._http.prepare.prepare`):
    method, URL, every header but framing (``Host``, ``Content-Length``) and body.

    ``request`` and ``authorization`` are what it was built from: a sender reads
    ``request.idempotent``, and the secrets they hold are redacted from any error.
    """

    __slots__ = ("authorization", "body", "headers", "method", "request", "url")

    def __init__(
        self,
        method: str,
        url: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
        request: ApiRequest,
        authorization: str | None,
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.request = request
        self.authorization = authorization


class Sender(Protocol):
    """A way out: the library's pool, or an httpx client or transport."""

    async def send(self, prepared: Prepared, bounds: Bounds) -> Answer:
        """Send once; the answer, or one of the core's errors (secrets redacted)."""
        ...


def _earliest(timeout: float | None, since: float, deadline: float | None) -> float:
    """The earlier of ``since + timeout`` and ``deadline`` (at least one is not None)."""
    if timeout is None:
        assert deadline is not None
        return deadline
    end = since + timeout
    return end if deadline is None or end < deadline else deadline


def _within(timeout: float | None, deadline: float | None, now: float) -> float | None:
    """``timeout``, shortened to what is left before ``deadline``."""
    if deadline is None:
        return timeout
    left = max(0.0, deadline - now)
    return left if timeout is None or left < timeout else timeout
