"""The failures of the library's own connection pool (:mod:`globus_runs._http.pool`).

The pool raises only these. The transport turns them into :class:`~globus_runs.NetworkError`
subclasses (:func:`globus_runs._http.failures.network_error`) and, for requests that come through
``httpx.AsyncClient``, into the httpx exception of the same name, chained to the original.

:class:`ConnectError` and its subclasses mean the request provably never left this process:
no connection was made, or none was free in time.
"""

from __future__ import annotations

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "LocalProtocolError",
    "PoolError",
    "PoolTimeout",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "TLSVerificationError",
    "Timeout",
    "WriteError",
    "WriteTimeout",
]


class PoolError(Exception):
    """Root of the pool's failures."""


class Timeout(PoolError):
    """Some step of the request took longer than its timeout."""


class ConnectError(PoolError):
    """No connection could be made: the request was never sent."""


class ConnectTimeout(ConnectError, Timeout):
    """Connecting took longer than the ``connect`` timeout: the request was never sent."""


class PoolTimeout(ConnectTimeout):
    """No connection of the pool became free within the ``pool`` timeout."""


class TLSVerificationError(ConnectError):
    """The server's TLS certificate failed verification: the request was never sent."""


class ReadError(PoolError):
    """The connection failed while the answer was awaited."""


class ReadTimeout(Timeout):
    """The answer did not arrive within the ``read`` timeout."""


class WriteError(PoolError):
    """The connection failed while the request was being sent."""


class WriteTimeout(Timeout):
    """Sending the request took longer than the ``write`` timeout."""


class RemoteProtocolError(PoolError):
    """The server broke HTTP/1.1 or closed the connection before the answer was complete."""


class LocalProtocolError(PoolError):
    """The request cannot be sent as HTTP/1.1 (a line break in a header, say)."""
