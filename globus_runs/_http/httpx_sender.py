"""Any httpx client or transport as a sender: a caller's ``httpx.AsyncClient``, a transport
given as ``transport=`` (the emulator's in-process one among them), or httpx's own pool
routing through a proxy from the environment.

httpx bounds neither the attempt as a whole nor the body: both are bounded here, within the
request's :class:`~globus_runs._http.sender.Bounds`. Whatever the transport raises goes
through :func:`~globus_runs._http.failures.failure`.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx

from .._body import BodyReader, too_large
from .._errors import APITimeoutError, ResponseParseError
from .failures import failure
from .sender import LIMIT_EXTENSION, Answer, Bounds, Prepared

__all__ = ["HttpxSender", "asgi_transport"]


class HttpxSender:
    """Sends through ``client``: straight to ``transport`` when given (the transport of a
    client this library made, with none of ``httpx.AsyncClient.send``'s auth, redirect,
    cookie and hook machinery, which such a client does not use), else through
    ``httpx.AsyncClient.send`` (a client given to us, or ours under a proxy)."""

    def __init__(
        self, client: httpx.AsyncClient, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        self.client = client
        self.transport = transport

    async def send(self, prepared: Prepared, bounds: Bounds) -> Answer:
        """Send once; the answer with its body decoded, or one of the core's errors."""
        try:
            return await self._send(prepared, bounds)
        except _AttemptTimedOut:
            # Only this attempt's own deadline: a TimeoutError the transport raises may quote
            # what was sent, so it goes through failure() like any other.
            raise APITimeoutError(
                f"timed out: the attempt took longer than {bounds.attempt} s",
                method=prepared.method,
                url=prepared.url,
            ) from None
        except Exception as exc:  # whatever the transport raises
            error = failure(exc, prepared)
            raise error from error.__cause__

    async def _send(self, prepared: Prepared, bounds: Bounds) -> Answer:
        transport = self.transport
        # Straight to the transport, the request is built as it is; through the client, with
        # the client's own headers, cookies and base URL merged in.
        build = httpx.Request if transport is not None else self.client.build_request
        built = build(
            prepared.method,
            prepared.url,
            content=prepared.body,
            headers=prepared.headers,
            extensions={"timeout": bounds.timeouts, LIMIT_EXTENSION: bounds.max_response_size},
        )
        # (A bare cancel scope: fail_after's two generator-based context managers cost more
        # than the rest of this method's own work.)
        attempt = bounds.attempt
        deadline = math.inf if attempt is None else anyio.current_time() + attempt
        with anyio.CancelScope(deadline=deadline) as scope:
            if transport is not None:
                answer = await transport.handle_async_request(built)
                answer.request = built
            else:
                answer = await self.client.send(built, follow_redirects=False, stream=True)
            try:
                content = await _read_bounded(answer, bounds.max_response_size)
            finally:
                await answer.aclose()
        if scope.cancelled_caught:
            raise _AttemptTimedOut
        return answer.status_code, answer.headers.raw, content


class _AttemptTimedOut(Exception):
    """The deadline of an attempt on the httpx path passed."""


async def _abandon(answer: httpx.Response, pieces: AsyncIterator[bytes]) -> None:
    """Stop reading ``answer`` part-way: close it (its connection with it), then run
    ``pieces`` to its end, which now comes at once, so the async generators layered under
    httpx's stream finish here rather than wait for the collector (which trio warns about).

    The answer is refused already: whatever the transport raises closing it or reading it
    closed (httpx's errors, a foreign transport's own) is dropped, and a stream that goes on
    after the close is read no further.
    """
    try:
        await answer.aclose()
        async for _ in pieces:
            break  # the close did not end this transport's stream: stop here
    except Exception:  # only how the stream ends: the answer's own error is raised next
        pass


async def _read_bounded(answer: httpx.Response, limit: int) -> bytes:
    """The body of a streamed ``answer``, decoded, within ``limit`` bytes (:class:`BodyReader`)."""
    if answer.is_stream_consumed:
        # Read already by its transport (a mock transport's answer): decoded, in memory.
        content = answer.content
        if len(content) > limit:
            raise too_large(limit)
        return content
    reader = BodyReader(
        [
            coding.strip().lower().encode("latin-1")
            for value in answer.headers.get_list("content-encoding")
            for coding in value.split(",")
        ],
        limit,
    )
    pieces = answer.aiter_raw()
    try:
        async for piece in pieces:
            reader.feed(piece)
    except ResponseParseError:
        await _abandon(answer, pieces)
        raise
    return reader.finish()


class _InProcessTransport(httpx.ASGITransport):
    """``httpx.ASGITransport`` failing the way a socket would.

    An app dropping the connection (raising :class:`ConnectionError`) gives
    ``httpx.ReadError``, and the request's read timeout bounds the wait for the
    answer (``httpx.ReadTimeout``), which the plain ASGI transport ignores.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        read_timeout: float | None = timeouts.get("read")
        with anyio.move_on_after(read_timeout if read_timeout is not None else float("inf")):
            try:
                return await super().handle_async_request(request)
            except ConnectionError as exc:
                raise httpx.ReadError(f"connection dropped: {exc}", request=request) from exc
        raise httpx.ReadTimeout("timed out waiting for the answer", request=request)


def asgi_transport(app: Any) -> httpx.AsyncBaseTransport:
    """An in-process transport that hands requests straight to an ASGI app (the emulator).

    Dropped connections and read timeouts surface as the same httpx errors as over a socket.
    Public as ``globus_runs.testing.asgi_transport``, for an HTTP client of your own:

    >>> import httpx
    >>> from globus_runs.testing import FakeGlobus, asgi_transport
    >>> fake = FakeGlobus()
    >>> http = httpx.AsyncClient(transport=asgi_transport(fake.app), base_url=fake.flows_url)
    """
    return _InProcessTransport(app=app)
