"""The ``httpx.AsyncClient`` objects this library makes, and the sender for any client.

A client made here is on a :class:`~globus_runs._http.pool_sender.PoolTransport` (its own pool,
or a ``pooled_http_client``), on a transport given to it, or, under a proxy from the
environment, on httpx's own pool with httpx's routes. :func:`sender_for` picks the sender of a
service client once, when it is made.
"""

from __future__ import annotations

import ssl
import weakref

import attrs
import httpx

from .._errors import ConfigurationError
from .httpx_sender import HttpxSender
from .pool_sender import PoolSender, PoolTransport
from .sender import Sender
from .tls import environment_tls_context

__all__ = [
    "DEFAULT_POOL",
    "AsyncBaseTransport",
    "AsyncClient",
    "make_client",
    "pool_size",
    "pooled_http_client",
    "sender_for",
]

AsyncClient = httpx.AsyncClient
AsyncBaseTransport = httpx.AsyncBaseTransport

DEFAULT_POOL = 100


@attrs.frozen
class _Made:
    """What this module knows of an ``httpx.AsyncClient`` it made."""

    max_connections: int | None  # None on a transport of the caller's
    pool: PoolTransport | None
    #: Where every request of the client goes: its PoolTransport, or the caller's transport;
    #: None when httpx chooses (its own pool, with proxy routes from the environment).
    transport: httpx.AsyncBaseTransport | None


# The clients this module made, and how: read by the transports that use them, so nothing of
# httpx.AsyncClient's insides is ever looked at.
_MADE: weakref.WeakKeyDictionary[httpx.AsyncClient, _Made] = weakref.WeakKeyDictionary()


def make_client(
    max_connections: int,
    *,
    timeout: httpx.Timeout,
    transport: httpx.AsyncBaseTransport | None,
    own_pool: bool,
    verify: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient``: on a new :class:`PoolTransport` when ``own_pool``, else on
    ``transport`` (or, when that is None, httpx's own pool with the proxies of the environment).
    """
    from .proxies import LOOPBACK_MOUNTS

    pool = PoolTransport(max_connections, verify) if own_pool else None
    httpx_routes = pool is None and transport is None
    client = httpx.AsyncClient(
        transport=pool if pool is not None else transport,
        # When httpx routes (a proxy from the environment), loopback stays direct; its pools
        # load their trust store now, so a CA setting that cannot be loaded fails here.
        mounts=LOOPBACK_MOUNTS if httpx_routes else None,
        verify=(verify or environment_tls_context()) if httpx_routes else True,
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        timeout=timeout,
        follow_redirects=False,
    )
    known = pool is not None or transport is None
    _MADE[client] = _Made(max_connections if known else None, pool, pool or transport)
    return client


def pooled_http_client(
    max_connections: int = DEFAULT_POOL,
    *,
    timeout: float | None = 60.0,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` to share between clients, on this library's connection pool.

    Pass it as ``http_client=`` to any number of ``FlowsClient`` / ``TimersClient`` objects (a
    FastAPI app opens one for its whole life): their requests then take the same lean path as
    those of a client with a pool of its own, and batches are bounded by ``max_connections``.
    Requests other code sends through it use the same connections. A plain
    ``httpx.AsyncClient`` works as well, through httpx's own pool. As with any client passed
    in, closing it is the caller's business (``async with``).

    ``transport`` replaces the pool, e.g. with ``FakeGlobus.transport()`` in tests. When a
    proxy is set in the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``), the client
    is a plain ``httpx.AsyncClient`` of ``max_connections``, which routes through it.

    ``verify``, an :class:`ssl.SSLContext`, is the TLS trust of its connections (a private
    CA: ``ssl.create_default_context(cafile=...)``); by default the system's, or the CA file
    or directory named by ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``.

    Example::

        async with pooled_http_client(200) as http_client:
            flows = FlowsClient(authorizer=token, http_client=http_client)
            run = await flows.get_run(run_id)
    """
    if (
        not isinstance(max_connections, int)
        or isinstance(max_connections, bool)
        or max_connections < 1
    ):
        raise ConfigurationError("max_connections must be a positive int")
    if verify is not None and not isinstance(verify, ssl.SSLContext):
        raise ConfigurationError(f"verify must be an ssl.SSLContext, not {type(verify).__name__}")
    if verify is not None and transport is not None:
        raise ConfigurationError("verify applies to the library's pool: a transport has its own")
    from .proxies import environment_proxy

    return make_client(
        max_connections,
        timeout=httpx.Timeout(timeout),
        transport=transport,
        own_pool=transport is None and not environment_proxy(None),
        verify=verify,
    )


def _plain(client: httpx.AsyncClient) -> _Made | None:
    """What this module knows of ``client`` when it made it and nothing was added since: no
    auth, event hooks or cookies (which must see every request); else None."""
    made = _MADE.get(client)
    if made is None or client.auth is not None or any(client.event_hooks.values()):
        return None
    return None if client.cookies else made


def pool_size(client: httpx.AsyncClient) -> int | None:
    """The connection limit of a client this module made on a pool it knows; else None."""
    made = _MADE.get(client)
    return made.max_connections if made is not None else None


def sender_for(client: httpx.AsyncClient, base_url: str) -> Sender:
    """The sender of a service client on ``client`` at ``base_url``.

    The pool straight (:class:`PoolSender`) when this module made ``client`` on a
    :class:`PoolTransport` and nothing was added to it since (hooks, auth or cookies must see
    every request) and the URL is plain ASCII; else httpx (:class:`HttpxSender`): straight to
    the transport of a client made here, through ``httpx.AsyncClient.send`` for any other.
    """
    made = _plain(client)
    if made is not None and made.pool is not None and base_url.isascii():
        return PoolSender(made.pool, base_url)
    return HttpxSender(client, made.transport if made is not None else None)
