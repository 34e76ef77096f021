"""The network core shared by every service client; the only module that imports httpx.

:class:`ServiceCaller` is the attempt loop: authorization (and renewal after a 401), one
retry decision (``_retry.retry_delay``), ``Retry-After``, the caller's deadline, telemetry,
and the error raised, with every secret the request carried redacted. Each attempt goes out
one of two ways, within the same :class:`Bounds` (attempt deadline, timeouts, size limit):
the library's own HTTP/1.1 pool (``_h1``, through :class:`PoolTransport`, straight or as an
httpx transport), or an httpx client or transport (the caller's, the emulator's, httpx's own
under a proxy). :func:`network_error` is the one place a failure to get an answer becomes a
library error.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib.util
import inspect
import ipaddress
import logging
import math
import os
import ssl
import sys
import urllib.request
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, quote_plus, urlencode, urlsplit

import anyio
import attrs
import httpx

from .. import _json
from .._auth import AccessTokenAuthorizer, Authorizer, TokenMapAuthorizer
from .._body import DEFAULT_MAX_RESPONSE_SIZE, BodyReader, too_large
from .._errors import (
    APIError,
    APITimeoutError,
    ConfigurationError,
    ConnectError,
    ConnectTimeoutError,
    GlobusRunsError,
    InvalidRequestError,
    NetworkError,
    ResponseParseError,
)
from .._retry import RetryEvent, RetryPolicy, ambiguous, rate_limit_listener, retry_delay
from .._telemetry import RequestObserver
from .._version import __version__
from .._wire import ApiRequest, error_from_response, is_loopback
from . import pool_errors

if TYPE_CHECKING:
    from .pool import Answer, H1Pool, Origin

__all__ = [
    "DEFAULT_HEADERS",
    "AsyncBaseTransport",
    "AsyncClient",
    "PoolTransport",
    "Recheck",
    "Response",
    "ServiceCaller",
    "Transport",
    "asgi_transport",
    "network_error",
    "pooled_http_client",
]

_T = TypeVar("_T")

AsyncClient = httpx.AsyncClient
AsyncBaseTransport = httpx.AsyncBaseTransport

logger = logging.getLogger("globus_runs")

USER_AGENT = f"globus-runs/{__version__} httpx/{httpx.__version__}"
#: The headers every request carries, whichever way it is sent.
DEFAULT_HEADERS: tuple[tuple[str, str], ...] = (
    ("Accept", "application/json"),
    ("Accept-Encoding", "gzip, deflate"),
    ("User-Agent", USER_AGENT),
)
_DEFAULT_POOL = 100
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_REDACTED = "<redacted>"
_MIN_SECRET = 8

#: Told of an ambiguous failure of a request that is not idempotent (a run start): returns
#: True when a look-up proved the request had no effect (sending it again is safe), False when
#: it must not be sent again, None when the look-up failed; raises to end the call.
Recheck = Callable[[GlobusRunsError], Awaitable[bool | None]]


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


def _secrets_of(authorization: str | None, request: ApiRequest) -> list[str]:
    """Every secret value ``request`` carried, longest first (so a header goes before its token).

    The ``Authorization`` header and its credentials, decoded too when they are Basic ones,
    and the request's own :attr:`~ApiRequest.secrets`.
    """
    found = list(request.secrets)
    headers = [authorization] if authorization is not None else []
    headers += [value for name, value in request.headers if name.lower() == "authorization"]
    for header in headers:
        scheme, _, credentials = header.partition(" ")
        found += (header, credentials)
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
            found += (pair, pair.partition(":")[2])
    # Under 8 characters a value is no secret worth the name (a test's "t"), and replacing it
    # everywhere would garble the message; a header value ("Bearer t") is long enough.
    return sorted({secret for secret in found if len(secret) >= _MIN_SECRET}, key=len, reverse=True)


def _redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret replaced, as sent and as a server may echo it (URL-encoded,
    or escaped in a JSON string)."""
    for secret in secrets:
        forms = {secret, quote_plus(secret), quote(secret, safe=""), _json_escaped(secret)}
        for form in sorted(forms, key=len, reverse=True):
            if form and form in text:
                text = text.replace(form, _REDACTED)
    return text


def _json_escaped(value: str) -> str:
    try:
        return bytes(_json.dumps(value)).decode("utf-8")[1:-1]
    except (TypeError, ValueError):  # a lone surrogate: a value no JSON answer could hold
        return ""


def _refuse_header(authorizer: Authorizer | None) -> InvalidRequestError:
    """The error for an ``Authorization`` header that cannot be sent; never quotes it."""
    return InvalidRequestError(
        f"the Authorization header from {type(authorizer).__name__} cannot be sent: it is not "
        "a str, or the token holds a line break, a control character or a character outside "
        "ASCII, or ends in a space"
    )


@attrs.frozen
class Response:
    """A 2xx answer, read in full."""

    status: int
    content: bytes
    method: str
    url: str
    # What was sent, to redact from the body when it has to be shown in an error.
    authorization: str | None = attrs.field(default=None, repr=False)
    request: ApiRequest | None = attrs.field(default=None, repr=False, eq=False)
    # Where the retry loop stood when this answer came, so that a caller finding the answer
    # unreadable goes on with the same budget (ServiceCaller.settle): the retries spent, the
    # times the request was sent, and when the loop started (anyio.current_time()).
    retries: int = attrs.field(default=0, repr=False, eq=False)
    attempts: int = attrs.field(default=1, repr=False, eq=False)
    started: float | None = attrs.field(default=None, repr=False, eq=False)

    def text(self) -> str:
        """The body as text, with every secret the request carried redacted (for errors)."""
        text = self.content.decode("utf-8", "replace")
        if self.request is None:
            return text
        return _redact(text, _secrets_of(self.authorization, self.request))

    def redact(self, error: ResponseParseError) -> ResponseParseError:
        """``error`` (raised reading this answer) with the request's secrets redacted from its
        message and text; its cause is dropped when that quoted one."""
        if self.request is None:
            return error
        secrets = _secrets_of(self.authorization, self.request)
        message, text = _redact(error.message, secrets), _redact(error.text, secrets)
        if (message, text) != (error.message, error.text):
            error.message, error.text = message, text
            error.args = (message,)
            error.__cause__ = None
            error.__suppress_context__ = True
        return error

    def json(self) -> Any:
        """Decode the body, raising :class:`ResponseParseError` when it is not JSON."""
        try:
            return _json.loads(self.content)
        except ValueError:
            raise ResponseParseError(
                "answer is not valid JSON", text=self.text(), method=self.method, url=self.url
            ) from None


_TO_HTTPX: dict[type[Exception], type[httpx.TransportError]] = {
    pool_errors.PoolTimeout: httpx.PoolTimeout,
    pool_errors.ConnectTimeout: httpx.ConnectTimeout,
    pool_errors.ConnectError: httpx.ConnectError,
    pool_errors.ReadTimeout: httpx.ReadTimeout,
    pool_errors.WriteTimeout: httpx.WriteTimeout,
    pool_errors.ReadError: httpx.ReadError,
    pool_errors.WriteError: httpx.WriteError,
    pool_errors.RemoteProtocolError: httpx.RemoteProtocolError,
    pool_errors.LocalProtocolError: httpx.LocalProtocolError,
    pool_errors.PoolError: httpx.TransportError,
}


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """The TLS context of the pools, one per process (and CA setting from the environment):
    building one loads the CA bundle, which costs more than many requests.

    A CA file or directory named by ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` that cannot be
    loaded is a :class:`ConfigurationError` naming it (retrying cannot help).
    """
    try:
        return httpx.create_ssl_context(verify=True, trust_env=True)
    except OSError as exc:  # a missing or unreadable file, or one holding no certificate
        variable, path = ("SSL_CERT_FILE", cert_file) if cert_file else ("SSL_CERT_DIR", cert_dir)
        raise ConfigurationError(
            f"{variable}={path!r} cannot be loaded as CA certificates: "
            f"{exc.strerror or exc}; unset it to use the default trust store"
        ) from None


def _environment_tls_context() -> ssl.SSLContext:
    """The TLS context for the CA settings of the environment as they are now."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


def _tls_verification_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind ``exc`` (the pool's or httpx's), if any."""
    seen: BaseException | None = exc
    for _ in range(8):  # the chains met here are short; never loop on a cycle
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


_OWN_CODINGS = b"gzip, deflate"
#: The request extension by which a client of this library tells :class:`PoolTransport` its
#: ``max_response_size`` when its requests go through ``httpx.AsyncClient`` (a shared
#: ``pooled_http_client`` with hooks, say), so the pool stops reading at that size.
_LIMIT_EXTENSION = "globus_runs.max_response_size"
_DECODED_AWAY = frozenset({b"content-encoding", b"content-length"})


class PoolTransport(httpx.AsyncBaseTransport):
    """The connection pool of a client that makes its own, or of :func:`pooled_http_client`.

    One :class:`~globus_runs._h1.H1Pool` of ``max_connections``, made on first use for the
    running event loop (or trio run), serves both ways in: :meth:`send_direct`, the path a
    :class:`ServiceCaller` takes when it can, and :meth:`handle_async_request`, for requests that
    come through ``httpx.AsyncClient`` (their failures raised as httpx's exceptions, chained
    to the pool's own).
    """

    def __init__(self, max_connections: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self.max_connections = max_connections
        #: The caller's TLS context (``verify=``); else the environment's, made when the first
        #: https connection needs it (plain http never loads a trust store).
        self._ssl_context = ssl_context
        self._h1: H1Pool | None = None  # bound to the event loop (or trio run) it was made in
        self._closed = False

    @property
    def pool(self) -> H1Pool | None:
        """The pool of the event loop (or trio run) that last used this transport, if any."""
        return self._h1

    async def send_direct(
        self,
        origin: Origin,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
        timeouts: dict[str, float | None],
        *,
        limit: int = DEFAULT_MAX_RESPONSE_SIZE,
        attempt: float | None = None,
        idempotent: bool | None = None,
    ) -> Answer:
        """Send one request; return status, headers and the whole body, decoded.

        ``headers`` must include ``Host``; ``limit``, ``attempt`` and ``idempotent`` as for
        :meth:`~globus_runs._h1.H1Pool.request`. Raises the pool's exceptions
        (``_pool_errors``) and :class:`ResponseParseError`.
        """
        h1 = self._h1
        if h1 is None or not h1.is_current():
            if self._closed:
                raise pool_errors.ConnectError("the connection pool is closed")
            from .pool import H1Pool

            if h1 is not None:
                h1.abandon()  # connections of an event loop (or trio run) that has ended
            h1 = self._h1 = H1Pool(
                self.max_connections, self._ssl_context or _environment_tls_context
            )
            await h1.close_with_event_loop()
        answer: Answer = await h1.send(
            origin,
            method,
            target,
            headers,
            body,
            timeouts,
            limit=limit,
            attempt=attempt,
            idempotent=idempotent,
        )
        return answer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        port = url.port if url.port is not None else (443 if scheme == "https" else 80)
        body = await request.aread()
        # The pool undoes gzip and deflate itself, within its size limit: ask for no other.
        sent = [
            (name, _OWN_CODINGS if name.lower() == b"accept-encoding" else value)
            for name, value in request.headers.raw
        ]
        try:
            status, headers, content = await self.send_direct(
                (scheme.encode("ascii"), url.host, port),
                request.method.encode("ascii"),
                url.raw_path,
                sent,
                body,
                request.extensions.get("timeout", {}),
                limit=request.extensions.get(_LIMIT_EXTENSION, DEFAULT_MAX_RESPONSE_SIZE),
            )
        except pool_errors.PoolError as exc:
            error = next(_TO_HTTPX[cls] for cls in type(exc).__mro__ if cls in _TO_HTTPX)
            raise error(str(exc), request=request) from exc
        except ResponseParseError as exc:  # too large, or not decodable
            raise httpx.DecodingError(str(exc), request=request) from exc
        return httpx.Response(
            status,
            # The body is decoded already: httpx must not decode it again.
            headers=[(n, v) for n, v in headers if n.lower() not in _DECODED_AWAY],
            stream=httpx.ByteStream(content),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        """Close every connection; later requests fail with a connect error."""
        self._closed = True
        h1 = self._h1
        if h1 is not None:
            if h1.is_current():
                await h1.aclose()
            else:
                h1.abandon()


#: The variable each of httpx's proxy routes comes from; any other route is one of NO_PROXY's.
_PROXY_VARIABLES = {"http://": "HTTP_PROXY", "https://": "HTTPS_PROXY", "all://": "ALL_PROXY"}
#: Loopback hosts: never sent to a proxy (a token would go in clear to it), whatever the
#: environment says. Mounted on every client this module lets httpx route.
_LOOPBACK_MOUNTS: dict[str, httpx.AsyncBaseTransport | None] = {
    "all://127.0.0.1": None,
    "all://localhost": None,
    "all://[::1]": None,
}


def _check_proxy(variable: str, url: str) -> None:
    """Refuse a proxy URL httpx could not use; never quotes it (it may hold credentials)."""
    try:
        scheme = httpx.Proxy(url).url.scheme
    except (httpx.InvalidURL, ValueError):
        raise ConfigurationError(
            f"{variable} is not a proxy URL httpx can use (http://, https://, socks5:// or "
            "socks5h://, with a valid host and port)"
        ) from None
    if scheme.startswith("socks5") and importlib.util.find_spec("socksio") is None:
        raise ConfigurationError(
            f"{variable} names a SOCKS proxy, which needs the socksio package "
            "(pip install 'httpx[socks]')"
        )


@attrs.frozen
class _ProxyRoute:
    """One of httpx's proxy routes: which URLs it takes, and whether it goes to a proxy.

    ``host`` is matched exactly, or as a domain when ``domain`` is ``"any"`` (the host or a
    name under it) or ``"below"`` (only names under it); empty matches every host.
    """

    scheme: str  # "" for every scheme
    host: str
    port: int | None
    domain: str  # "", "any" or "below"
    proxied: bool

    @classmethod
    def parse(cls, key: str, proxied: bool, variable: str) -> _ProxyRoute:
        """A route from an httpx mount key (``all://``, ``all://*example.org``, ...)."""
        try:
            url = httpx.URL(key)
        except httpx.InvalidURL as exc:
            host = key.removeprefix("all://").removeprefix("*")
            raise ConfigurationError(
                f"{variable} holds {host!r}, which httpx cannot read as a host ({exc}): write "
                "host names, IPv4 addresses or IPv6 addresses without brackets, comma-separated"
            ) from None
        scheme = "" if url.scheme == "all" else url.scheme
        host, domain = url.host, ""
        if host == "*":
            host = ""
        elif host.startswith("*."):
            host, domain = host[2:], "below"
        elif host.startswith("*"):
            host, domain = host[1:], "any"
        return cls(scheme, host, url.port, domain, proxied)

    def matches(self, url: httpx.URL) -> bool:
        if self.scheme and self.scheme != url.scheme:
            return False
        if self.port is not None and self.port != url.port:
            return False
        if not self.host:
            return True
        host = url.host
        if self.domain == "below":
            return host.endswith("." + self.host)
        if self.domain == "any":
            return host == self.host or host.endswith("." + self.host)
        return host == self.host

    @property
    def priority(self) -> tuple[int, int, int]:
        """httpx tries routes with a port first, then longer hosts, then longer schemes."""
        pattern_host = ("*." if self.domain == "below" else "*" if self.domain else "") + self.host
        return (0 if self.port is not None else 1, -len(pattern_host), -len(self.scheme))


def _no_proxy_key(entry: str) -> str:
    """The route httpx makes of one ``NO_PROXY`` entry."""
    if "://" in entry:
        return entry
    try:
        address = ipaddress.ip_address(entry.partition("/")[0])
    except ValueError:
        return f"all://{entry}" if entry.lower() == "localhost" else f"all://*{entry}"
    return f"all://[{entry}]" if address.version == 6 else f"all://{entry}"


def _proxy_routes() -> list[_ProxyRoute]:
    """The routes httpx builds from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``,
    ``ALL_PROXY``, any case, and ``NO_PROXY``; read as httpx reads them), in the order httpx
    tries them. Empty when no proxy is set (``NO_PROXY`` then routes nothing).

    Anything httpx would refuse when it builds a client is a :class:`ConfigurationError`
    naming the variable.
    """
    found = urllib.request.getproxies()
    routes = []
    for scheme in ("http", "https", "all"):
        proxy = found.get(scheme)
        if proxy:
            variable = f"{scheme.upper()}_PROXY"
            _check_proxy(variable, proxy if "://" in proxy else f"http://{proxy}")
            routes.append(_ProxyRoute.parse(f"{scheme}://", True, variable))
    if not routes:
        return []
    for entry in (item.strip() for item in found.get("no", "").split(",")):
        if entry == "*":
            return []  # no proxy for anything
        if entry:
            routes.append(_ProxyRoute.parse(_no_proxy_key(entry), False, "NO_PROXY"))
    return sorted(routes, key=lambda route: route.priority)


def _environment_proxy(url: str | None) -> bool:
    """Whether httpx would send a request for ``url`` to a proxy set in the environment (to
    any URL when None). A loopback host never goes to a proxy."""
    if url is not None and is_loopback(urlsplit(url).hostname or ""):
        return False
    routes = _proxy_routes()
    if url is None or not routes:
        return bool(routes)
    target = httpx.URL(url)
    return next((route.proxied for route in routes if route.matches(target)), False)


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


def _make_client(
    max_connections: int,
    *,
    timeout: httpx.Timeout,
    transport: httpx.AsyncBaseTransport | None,
    own_pool: bool,
    headers: Iterable[tuple[str, str]] | None = None,
    verify: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient``: on a new :class:`PoolTransport` when ``own_pool``, else on
    ``transport`` (or, when that is None, httpx's own pool with the proxies of the environment).
    """
    pool = PoolTransport(max_connections, verify) if own_pool else None
    httpx_routes = pool is None and transport is None
    client = httpx.AsyncClient(
        transport=pool if pool is not None else transport,
        # When httpx routes (a proxy from the environment), loopback stays direct; its pools
        # load their trust store now, so a CA setting that cannot be loaded fails here.
        mounts=_LOOPBACK_MOUNTS if httpx_routes else None,
        verify=(verify or _environment_tls_context()) if httpx_routes else True,
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        timeout=timeout,
        follow_redirects=False,
        headers=list(headers) if headers is not None else None,
    )
    known = pool is not None or transport is None
    _MADE[client] = _Made(max_connections if known else None, pool, pool or transport)
    return client


def pooled_http_client(
    max_connections: int = _DEFAULT_POOL,
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
    return _make_client(
        max_connections,
        timeout=httpx.Timeout(timeout),
        transport=transport,
        own_pool=transport is None and not _environment_proxy(None),
        verify=verify,
    )


def _plain(client: httpx.AsyncClient) -> _Made | None:
    """What this module knows of ``client`` when it made it and nothing was added since: no
    auth, event hooks or cookies (which must see every request); else None."""
    made = _MADE.get(client)
    if made is None or client.auth is not None or any(client.event_hooks.values()):
        return None
    return None if client.cookies else made


def _pool_size(client: httpx.AsyncClient) -> int | None:
    """The connection limit of a client this module made on a pool it knows; else None."""
    made = _MADE.get(client)
    return made.max_connections if made is not None else None


class ServiceCaller:
    """The attempt loop of one service: authorizes, sends through the client's way out (its
    own pool, or an httpx client or transport), retries as the policy allows and turns every
    failure into a :class:`GlobusRunsError`. (Not an httpx transport: those are what it
    sends through.)"""

    def __init__(
        self,
        *,
        base_url: str,
        authorizer: Authorizer | None,
        http_client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float | None,
        retry: RetryPolicy,
        concurrency: int,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        self.base_url = base_url
        self.authorizer = authorizer
        self.retry = retry
        #: What every attempt may take, carried to whichever way it goes out.
        self.bounds = Bounds.of(timeout, max_response_size)
        self._owns_client = http_client is None
        if http_client is None:
            # Without a transport and under a proxy from the environment: httpx's own pool,
            # with the proxy routes httpx builds from the environment.
            http_client = _make_client(
                max(concurrency, _DEFAULT_POOL),
                timeout=httpx.Timeout(timeout),
                transport=transport,
                own_pool=transport is None and not _environment_proxy(base_url),
                headers=DEFAULT_HEADERS,
            )
        self.pool_size = _pool_size(http_client)
        self.http_client = http_client
        self._direct = _DirectRoute.of(http_client, base_url, self.bounds)
        made = _plain(http_client) if self._direct is None else None
        #: Where the httpx path hands its requests when the client is one this module made
        #: (on a transport of the caller's, say): straight to that transport, without
        #: ``httpx.AsyncClient.send``'s auth, redirect, cookie and hook machinery, none of
        #: which such a client uses. None: through ``httpx.AsyncClient.send``.
        self._to_transport = made.transport if made is not None else None
        #: Every request's extensions on the httpx path, whichever way it goes: the client's
        #: timeouts, and its size limit for a PoolTransport reached through httpx.
        self._extensions: dict[str, Any] = {
            "timeout": self.bounds.timeouts,
            _LIMIT_EXTENSION: self.bounds.max_response_size,
        }
        # Our own client already carries the headers: httpx merges per-request headers one
        # by one, at a cost that shows on every request.
        skip_headers = self._owns_client and self._to_transport is None
        self._request_headers: dict[str, str] = {} if skip_headers else dict(DEFAULT_HEADERS)
        #: Reports each attempt (spans, request hooks); see ``globus_runs._telemetry``.
        self.observer = RequestObserver()

    @property
    def max_response_size(self) -> int:
        """The most bytes an answer's body may hold (:attr:`bounds`)."""
        return self.bounds.max_response_size

    def shares_pool_with(self, other: ServiceCaller) -> bool:
        """True when both transports send through the same ``httpx.AsyncClient``."""
        return self.http_client is other.http_client

    async def aclose(self) -> None:
        """Close the pool if this transport created it; a shared client is left open."""
        if self._owns_client:
            await self.http_client.aclose()

    def url_for(self, request: ApiRequest) -> str:
        """The request's URL; :class:`InvalidRequestError` for a query value that cannot be
        sent (a lone surrogate has no UTF-8 form), before anything is sent."""
        url = self.base_url + request.path
        if request.params:
            try:
                query = urlencode(request.params, quote_via=quote, safe=",:")
            except UnicodeEncodeError:
                name = next(name for name, value in request.params if not _encodable(value))
                raise InvalidRequestError(
                    f"{request.method} {url}: the value of {name!a} cannot be sent: it holds a "
                    "character with no UTF-8 form (a lone surrogate)"
                ) from None
            url = f"{url}?{query}"
        return url

    async def send(self, request: ApiRequest, *, recheck: Recheck | None = None) -> Response:
        """Send ``request``, retrying as the policy allows; return the 2xx answer or raise.

        ``recheck`` is for a request that is not idempotent: after an ambiguous failure (a
        5xx, a lost connection, a timeout) it is awaited (see :meth:`settle`), and only when
        it returns True (the request provably had no effect) is the request sent again, as an
        idempotent one would be. It may end the call by raising.
        """
        url = self.url_for(request)
        if self.http_client.is_closed:  # on every way out; no retry can change it
            raise InvalidRequestError(
                f"{request.method} {url}: the HTTP client is closed (the service client was "
                "closed, or the http_client given to it)"
            )
        progress = _Progress(anyio.current_time())
        while True:
            header = await self._header_for(request, url)
            try:
                status, headers, content = await self._attempt(
                    request, url, header, progress.retries
                )
            except NetworkError as exc:
                error: GlobusRunsError = exc
            else:
                if 200 <= status < 300:
                    return Response(
                        status,
                        content,
                        request.method,
                        url,
                        header,
                        request,
                        progress.retries,
                        progress.sent + 1,
                        progress.started,
                    )
                error = _api_error(request, url, header, status, headers, content)
                if status == 401 and await self._renewed(request, url, header, progress):
                    continue
            await self._after_failure(request, url, error, recheck, progress)

    async def _header_for(self, request: ApiRequest, url: str) -> str | None:
        """The ``Authorization`` header of one attempt, refused when it cannot be sent.

        Checked here, once for every way out: a line break in a header would be refused by
        the connection with an error quoting it, or split the request.
        """
        if self.authorizer is None:
            return None
        header = await self._authorize(
            request, url, self.authorizer.get_authorization_header(request.resource_server)
        )
        if header is not None and not _sendable_header(header):
            raise _refuse_header(self.authorizer)
        return header

    async def _attempt(
        self, request: ApiRequest, url: str, header: str | None, retry_number: int
    ) -> Answer:
        """Send once, by this client's way out, told to the observer when one listens."""
        send = self._send_once if self._direct is None else self._direct.send
        if self.observer.active():
            answer: Answer = await self.observer.send(send, request, url, header, retry_number)
            return answer
        return await send(request, url, header)

    async def _renewed(
        self, request: ApiRequest, url: str, header: str | None, progress: _Progress
    ) -> bool:
        """After a 401: whether the authorizer renewed the token (once per call)."""
        if self.authorizer is None or progress.renewed:
            return False
        progress.renewed = True
        retry_with_new_token = await self._authorize(
            request, url, self.authorizer.handle_unauthorized(request.resource_server, header)
        )
        if retry_with_new_token:
            logger.debug("%s %s: token rejected, retrying once", request.method, url)
        return retry_with_new_token

    async def _after_failure(
        self,
        request: ApiRequest,
        url: str,
        error: GlobusRunsError,
        recheck: Recheck | None,
        progress: _Progress,
    ) -> None:
        """Wait before the next attempt, or raise ``error`` when there is none.

        A request that is not idempotent is sent again after an ambiguous failure only once
        ``recheck`` proved it had no effect (:meth:`settle`).
        """
        progress.retries += 1
        idempotent = request.idempotent
        if recheck is not None and not idempotent and ambiguous(error):
            reached, idempotent = await self.settle(
                request,
                error,
                recheck,
                retry_number=progress.retries,
                started=progress.started,
                attempts=progress.sent,
            )
            progress.look_ups += reached - progress.retries
            progress.retries = reached
        delay = self._retry_delay(error, progress.retries, progress.started, idempotent=idempotent)
        _tell_rate_limit_listener(error, delay, self.retry)
        if delay is None:
            error.attempts = progress.sent
            raise error
        await self._pause(request, url, error, progress.retries, delay)

    async def _authorize(self, request: ApiRequest, url: str, asking: Awaitable[_T]) -> _T:
        """Await the authorizer (for a header, or after a 401) within the client's timeout: a
        renewal that Globus Auth is slow to grant ends the call typed, like any attempt."""
        attempt = self.bounds.attempt
        if attempt is None or type(self.authorizer) in _NEVER_WAITING:
            return await asking  # a fixed token: no cancel scope on every request's path
        with anyio.CancelScope(deadline=anyio.current_time() + attempt):
            return await asking
        raise APITimeoutError(
            f"timed out: the authorizer gave no token within {self.bounds.attempt} s",
            method=request.method,
            url=url,
        )

    async def settle(
        self,
        request: ApiRequest,
        error: GlobusRunsError,
        recheck: Recheck,
        *,
        retry_number: int = 1,
        started: float | None = None,
        attempts: int = 1,
    ) -> tuple[int, bool]:
        """After an ambiguous ``error`` of ``request``, ask ``recheck`` whether it had an effect.

        A look-up that fails (``recheck`` returns None) is tried again on this transport's
        schedule: each try is a retry, within ``max_retries`` and ``max_elapsed``, and never
        past the caller's deadline; when none is left, ``error`` is raised (its ``attempts``
        set to ``attempts``, the times the request was sent). ``recheck`` may end
        the call by raising. Returns the retry number reached and whether the request provably
        had no effect (so sending it again is safe).
        """
        url = self.url_for(request)
        if started is None:
            started = anyio.current_time()
        while True:
            verdict = await recheck(error)
            if verdict is not None:
                return retry_number, verdict
            delay = self._retry_delay(error, retry_number, started, idempotent=None)
            if delay is None:
                error.attempts = attempts
                raise error
            await self._pause(request, url, error, retry_number, delay)
            retry_number += 1

    async def _pause(
        self, request: ApiRequest, url: str, error: GlobusRunsError, retry_number: int, delay: float
    ) -> None:
        """Log the coming retry, tell ``on_retry`` about it, and wait ``delay`` seconds."""
        policy = self.retry
        logger.debug(
            "%s %s: retry %d of %d in %.2fs after %s",
            request.method,
            url,
            retry_number,
            policy.max_retries,
            delay,
            type(error).__name__,
        )
        if policy.on_retry is not None:
            outcome = policy.on_retry(RetryEvent(request.method, url, retry_number, delay, error))
            if inspect.isawaitable(outcome):
                await outcome
        await anyio.sleep(delay)

    def _retry_delay(
        self, error: GlobusRunsError, retry_number: int, started: float, *, idempotent: bool | None
    ) -> float | None:
        """Seconds to wait before retrying, or None when ``error`` must be raised now
        (:func:`~globus_runs._retry.retry_delay`, told the time spent and the time left)."""
        now = anyio.current_time()
        return retry_delay(
            self.retry,
            error,
            retry_number,
            idempotent=idempotent,
            elapsed=now - started,
            time_left=anyio.current_effective_deadline() - now,
        )

    async def _send_once(self, request: ApiRequest, url: str, authorization: str | None) -> Answer:
        """Send once the httpx way: straight to the transport of a client this module made (the
        emulator's, or one passed as ``transport=``), else through ``httpx.AsyncClient.send``
        (a client given to us, or ours under a proxy)."""
        headers = dict(self._request_headers)
        if authorization is not None:
            headers["Authorization"] = authorization
        if request.body is not None:
            headers["Content-Type"] = request.content_type
        if request.headers:
            headers.update(request.headers)
        try:
            transport = self._to_transport
            # Straight to the transport, the request is built as it is; through the client,
            # with the client's own headers, cookies and base URL merged in.
            build = httpx.Request if transport is not None else self.http_client.build_request
            built = build(
                request.method,
                url,
                content=request.body,
                headers=headers,
                extensions=self._extensions.copy(),
            )
            # The attempt as a whole, and the body as received and decoded, are bounded here:
            # httpx bounds neither. (A bare cancel scope: fail_after's two generator-based
            # context managers cost more than the rest of this method's own work.)
            attempt = self.bounds.attempt
            deadline = math.inf if attempt is None else anyio.current_time() + attempt
            with anyio.CancelScope(deadline=deadline) as scope:
                if transport is not None:
                    answer = await transport.handle_async_request(built)
                    answer.request = built
                else:
                    answer = await self.http_client.send(built, follow_redirects=False, stream=True)
                try:
                    content = await _read_bounded(answer, self.bounds.max_response_size)
                finally:
                    await answer.aclose()
            if scope.cancelled_caught:
                raise _AttemptTimedOut
            return answer.status_code, answer.headers.raw, content
        except ResponseParseError as exc:  # too large, or not decodable
            exc.method, exc.url = request.method, url
            raise
        except _AttemptTimedOut:
            # Only this attempt's own deadline: a TimeoutError the transport raises may quote
            # what was sent, so it goes through network_error like any other failure.
            raise APITimeoutError(
                f"timed out: the attempt took longer than {self.bounds.attempt} s",
                method=request.method,
                url=url,
            ) from None
        except Exception as exc:  # whatever the transport raises: see network_error
            error = network_error(exc, request.method, url, _secrets_of(authorization, request))
            raise error from error.__cause__


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: The former name of :class:`ServiceCaller`, still imported by the service clients.
Transport = ServiceCaller


#: Authorizers whose methods return at once (fixed tokens): never bounded by a timeout.
_NEVER_WAITING = frozenset({AccessTokenAuthorizer, TokenMapAuthorizer})


@attrs.frozen
class Bounds:
    """What one attempt may take, whichever way it goes out: the whole attempt (``attempt``
    seconds: connecting, sending and reading), each phase (``timeouts``: ``connect``,
    ``read`` (the longest silence), ``write``, ``pool``) and the answer's body
    (``max_response_size`` bytes, as received and decoded). Enforced once by each way out.
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
        return cls(timeout, httpx.Timeout(timeout).as_dict(), max_response_size)


@attrs.define
class _Progress:
    """Where one call's attempt loop stands."""

    started: float  # anyio.current_time() when the call began
    retries: int = 0
    look_ups: int = 0  # retries spent repeating a failed look-up of recheck, not the request
    renewed: bool = False  # the token was renewed after a 401 already

    @property
    def sent(self) -> int:
        """How many times the request itself was sent, before the attempt under way."""
        return self.retries - self.look_ups


def _sendable_header(header: object) -> bool:
    """Whether an ``Authorization`` value can go out on every way (httpx refuses a value with
    a space at either end, so does every way)."""
    return (
        isinstance(header, str)
        and header.isascii()
        and header.isprintable()
        and header[-1:] != " "
        and header[:1] != " "
    )


def _api_error(
    request: ApiRequest,
    url: str,
    authorization: str | None,
    status: int,
    headers: list[tuple[bytes, bytes]],
    content: bytes,
) -> APIError:
    """The error for a non-2xx answer, with every secret the request carried redacted."""
    secrets = _secrets_of(authorization, request)
    return error_from_response(
        status,
        _redact(content.decode("utf-8", "replace"), secrets),
        headers={name: _redact(value, secrets) for name, value in _header_map(headers).items()},
        method=request.method,
        url=url,
        not_found=request.not_found,
    )


def _tell_rate_limit_listener(
    error: GlobusRunsError, delay: float | None, policy: RetryPolicy
) -> None:
    """Tell the batch of a 429: it pauses as long as asked, but never longer than the policy
    lets one request wait (past that, its other items meet the 429 and fail fast)."""
    if not (isinstance(error, APIError) and error.http_status == 429):
        return
    listener = rate_limit_listener.get()
    if listener is not None:
        pause = error.retry_after if error.retry_after is not None else delay or 1.0
        listener(min(pause, policy.retry_after_max))


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


def _header_map(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers of an answer by lower-cased name (the last of repeated ones)."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in headers}


def _never_sent(cause: BaseException | None) -> bool:
    """Whether ``cause`` (of an httpx connect error) proves the request never left: httpx's
    own transport (httpcore) and PoolTransport chain their connect errors to such causes.

    httpcore is looked up, not imported (which takes longer than importing httpx): when it
    was never imported, no error can have come from it.
    """
    if isinstance(cause, pool_errors.ConnectError):
        return True
    httpcore = sys.modules.get("httpcore")
    return httpcore is not None and isinstance(
        cause, httpcore.ConnectError | httpcore.ConnectTimeout | httpcore.PoolTimeout
    )


_HTTPX_CONNECT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def network_error(
    exc: Exception, method: str, url: str, secrets: Iterable[str] = ()
) -> GlobusRunsError:
    """The library's error for a failure to get an answer, however the request was sent.

    A :class:`ConnectError` only when the request provably never left: the library's own pool
    failed to connect, or httpx's own transport did (an httpx connect error caused by
    httpcore's). Any other transport's connect error may come after the request was read,
    so it is a plain :class:`NetworkError` (an :class:`APITimeoutError` for a timeout). An
    exception that is neither httpx's nor the pool's (a foreign transport's own) is a
    :class:`NetworkError` too (an :class:`APITimeoutError` for a ``TimeoutError``); a request
    that cannot be encoded is an :class:`InvalidRequestError`; a :class:`GlobusRunsError` is
    returned as it is, and so is the :class:`ResponseParseError` (a body too large or not
    decodable) behind the ``httpx.DecodingError`` of a :class:`PoolTransport`.

    ``secrets`` are redacted from the message, and a message still holding the start of one
    (an excerpt cut inside it) is not shown; ``__cause__`` is set to ``exc`` only when its
    text holds none of them (raise the result ``from`` its ``__cause__``).
    """
    if isinstance(exc, GlobusRunsError):
        return exc
    known = _configuration_or_body_error(exc, method, url)
    if known is not None:
        return known
    secrets = list(secrets)
    detail = _redact(str(exc), secrets)
    if any(secret[:_MIN_SECRET] in detail for secret in secrets):
        # The start of a secret, left by an excerpt cut inside it (the pool quotes at most
        # 80 bytes of a malformed line): the detail is not shown at all.
        detail = "(not shown: it quotes part of a secret the request carried)"
    error = _failure_error(exc, detail, method, url)
    # Chained only when its text holds no secret: a traceback would show it again.
    error.__cause__ = exc if detail == str(exc) else None
    return error


def _configuration_or_body_error(exc: Exception, method: str, url: str) -> GlobusRunsError | None:
    """The error for a failure no retry can change: a certificate that fails verification,
    or (through ``httpx.AsyncClient``) a body too large or not decodable."""
    failure = _tls_verification_failure(exc)
    if failure is not None:
        # Retrying would meet the same certificate: the trust settings are what to change.
        return ConfigurationError(
            f"{method} {url}: the server's TLS certificate failed verification "
            f"({failure.verify_message or failure.reason}). To trust a private CA, pass "
            "http_client=pooled_http_client(verify=ssl_context) or set SSL_CERT_FILE"
        )
    if isinstance(exc, httpx.DecodingError) and isinstance(exc.__cause__, ResponseParseError):
        # PoolTransport's word, through httpx.AsyncClient, for a body too large or not
        # decodable: the library's own error, as on every other way out (never retried).
        found = exc.__cause__
        found.method, found.url = method, url
        return found
    return None


def _failure_error(exc: Exception, detail: str, method: str, url: str) -> GlobusRunsError:
    """The error for a failure to get an answer, ``detail`` being its redacted text."""
    name = type(exc).__name__
    timeout = isinstance(exc, httpx.TimeoutException | pool_errors.Timeout | TimeoutError)
    if isinstance(exc, pool_errors.ConnectError) or (
        isinstance(exc, _HTTPX_CONNECT) and _never_sent(exc.__cause__)
    ):
        if timeout:
            return ConnectTimeoutError(f"timed out connecting: {name}", method=method, url=url)
        return ConnectError(f"could not connect: {detail}", method=method, url=url)
    if isinstance(exc, _HTTPX_CONNECT):
        # httpx-aiohttp, for one, reports a server that hung up after reading the request
        # as ConnectTimeout: from a transport we do not know, it proves nothing.
        message = f"{name} from a transport that cannot tell whether the request was sent"
        cls = APITimeoutError if timeout else NetworkError
        return cls(f"{message}: {detail}", method=method, url=url)
    if isinstance(exc, httpx.LocalProtocolError | pool_errors.LocalProtocolError):
        return InvalidRequestError(f"{method} {url}: the request cannot be sent: {detail}")
    if timeout:
        return APITimeoutError(f"timed out waiting for the answer: {name}", method=method, url=url)
    if isinstance(exc, httpx.HTTPError | pool_errors.PoolError):
        return NetworkError(f"connection failed: {name}: {detail}", method=method, url=url)
    return NetworkError(f"the transport failed: {name}: {detail}", method=method, url=url)


class _DirectRoute:
    """Sends requests straight to the :class:`PoolTransport` of a client this module made.

    ``httpx.AsyncClient.send`` parses the URL again, merges headers and cookies, runs the auth and
    redirect machinery and wraps the body in decoders on every request, none of which this
    library uses (it sends its own headers, follows no redirects, keeps no cookies): for a batch
    that is more CPU than the connection pool itself. This route builds the request from parts
    prepared once and sends it on the pool's connections.
    """

    def __init__(self, pool: PoolTransport, base_url: str, bounds: Bounds) -> None:
        parts = urlsplit(base_url)
        self._pool = pool
        scheme = parts.scheme
        port = parts.port if parts.port is not None else (443 if scheme == "https" else 80)
        self._origin: Origin = (scheme.encode("ascii"), parts.hostname or "", port)
        self._base_length = len(base_url)
        self._prefix = parts.path.encode("ascii")
        host = (b"Host", parts.netloc.rpartition("@")[2].encode("ascii"))
        self._headers = [host, *((n.encode(), v.encode()) for n, v in DEFAULT_HEADERS)]
        self._bounds = bounds

    @classmethod
    def of(cls, client: httpx.AsyncClient, base_url: str, bounds: Bounds) -> _DirectRoute | None:
        """The route for ``client`` when this module made it on a :class:`PoolTransport`.

        None for any other client, when the client has hooks, auth or cookies of its own (they
        must see every request), or for a URL that is not plain ASCII: those requests go through
        ``httpx.AsyncClient``. (A client made with a transport has no proxy routes.)
        """
        made = _plain(client)
        if made is None or made.pool is None or not base_url.isascii():
            return None
        return cls(made.pool, base_url, bounds)

    async def send(self, request: ApiRequest, url: str, authorization: str | None) -> Answer:
        """Send once; return the answer with its body decoded, or raise a :class:`NetworkError`."""
        headers = self._headers.copy()
        if authorization is not None:
            headers.append((b"Authorization", authorization.encode("ascii")))
        body = request.body
        if body is not None:
            headers.append((b"Content-Type", request.content_type.encode("utf-8")))
            headers.append((b"Content-Length", str(len(body)).encode("ascii")))
        elif request.method in _METHODS_WITH_BODY:
            headers.append((b"Content-Length", b"0"))  # as httpx does; some proxies want it
        for name, value in request.headers:
            headers.append((name.encode("utf-8"), value.encode("utf-8")))
        target = self._prefix + url[self._base_length :].encode("ascii")
        bounds = self._bounds
        try:
            answer: Answer = await self._pool.send_direct(
                self._origin,
                request.method.encode("ascii"),
                target,
                headers,
                body,
                bounds.timeouts,
                limit=bounds.max_response_size,
                attempt=bounds.attempt,
                idempotent=request.idempotent,
            )
        except ResponseParseError as exc:  # too large, or not decodable
            exc.method, exc.url = request.method, url
            raise
        except Exception as exc:
            error = network_error(exc, request.method, url, _secrets_of(authorization, request))
            raise error from error.__cause__
        return answer
