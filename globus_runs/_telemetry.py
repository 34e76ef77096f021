"""What the library tells about its own traffic: OpenTelemetry spans and request hooks.

Requests on the library's own connections never pass through httpx, so httpx instrumentation
cannot see them; this module reports every HTTP attempt itself.

- **OpenTelemetry** (optional: ``pip install globus-runs[otel]``): when the application has
  set a tracer provider (or passed one to :func:`configure_telemetry`), each HTTP attempt is a
  ``CLIENT`` span named after its method, with the standard attributes
  (``http.request.method``, ``url.full`` with query secrets redacted, ``server.address``,
  ``server.port``, ``http.response.status_code``, ``http.request.resend_count`` on retries,
  ``error.type`` on failure), under a parent span for each batch, wait and exactly-once
  start. Nothing is imported from OpenTelemetry by this library: it is used only when the
  application has imported it already, and only once a real provider is set.
- **Hooks**: ``client.add_request_hook(hook)`` calls ``hook(RequestEvent)`` after each
  attempt; retries are reported by ``RetryPolicy(on_retry=...)``.

Headers (and so tokens) and bodies are never reported.
"""

from __future__ import annotations

import inspect
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import attrs

from ._errors import ConfigurationError, GlobusRunsError
from ._version import __version__

if TYPE_CHECKING:
    from ._http.sender import Answer, Bounds, Prepared

__all__ = [
    "RequestEvent",
    "RequestHook",
    "RequestObserver",
    "configure_telemetry",
    "parent_span",
    "redact_url",
]

logger = logging.getLogger("globus_runs")

INSTRUMENTATION_NAME = "globus_runs"
# Query parameters whose values are never reported (tokens, codes, signatures).
_SECRET_PARAMS = frozenset(
    {
        "access_token",
        "refresh_token",
        "token",
        "id_token",
        "code",
        "client_secret",
        "password",
        "signature",
        "sig",
        "x-amz-signature",
        "key",
        "api_key",
    }
)


@attrs.frozen
class RequestEvent:
    """One HTTP attempt, as a request hook sees it.

    ``url`` has query secrets redacted; ``attempt`` is 1 for the first send and grows with
    each retry; ``status_code`` is ``None`` when no response came (``error`` says why);
    ``duration`` is in seconds.
    """

    method: str
    url: str
    attempt: int
    status_code: int | None
    duration: float
    error: GlobusRunsError | None = None


RequestHook = Callable[[RequestEvent], Awaitable[None] | None]


class _Settings:
    """Where spans go: a provider chosen by :func:`configure_telemetry`, or the global one."""

    provider: Any = None
    disabled = False
    tracer: Any = None


_settings = _Settings()


def configure_telemetry(tracer_provider: Any = None, *, enabled: bool = True) -> None:
    """Choose the OpenTelemetry tracer provider for this library's spans, or turn them off.

    By default the global provider (``opentelemetry.trace.set_tracer_provider``) is used as
    soon as the application sets one; until then nothing is recorded. ``tracer_provider``
    uses that provider instead; ``enabled=False`` records nothing at all.

    Example::

        from opentelemetry.sdk.trace import TracerProvider
        configure_telemetry(TracerProvider())
    """
    if tracer_provider is not None and not hasattr(tracer_provider, "get_tracer"):
        raise ConfigurationError("tracer_provider must be an OpenTelemetry TracerProvider")
    _settings.provider = tracer_provider
    _settings.disabled = not enabled
    _settings.tracer = None


def active_tracer() -> Any:
    """The tracer spans go to, or ``None`` when nothing should be recorded (cheap to call)."""
    tracer = _settings.tracer
    if tracer is not None or _settings.disabled:
        return tracer
    provider = _settings.provider
    if provider is None:
        trace = sys.modules.get("opentelemetry.trace")
        if trace is None:
            return None  # not imported by the application: not in use
        provider = trace.get_tracer_provider()
        # The API's defaults record nothing: no provider has been configured yet.
        if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
            return None
    # A global provider can be set only once, so the tracer stays valid.
    _settings.tracer = provider.get_tracer(INSTRUMENTATION_NAME, __version__)
    return _settings.tracer


def redact_url(url: str) -> str:
    """``url`` without user info, and with the values of secret query parameters replaced."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(name.lower() in _SECRET_PARAMS for name, _ in pairs):
            query = urlencode(
                [
                    (name, "REDACTED" if name.lower() in _SECRET_PARAMS else value)
                    for name, value in pairs
                ],
                quote_via=quote,
                safe=",:",
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _server(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "", port


Send = Callable[["Prepared", "Bounds"], Awaitable["Answer"]]


class RequestObserver:
    """Reports the attempts of one transport: a span each, and the request hooks."""

    def __init__(self) -> None:
        self.hooks: list[RequestHook] = []

    def active(self) -> bool:
        """Whether an attempt needs reporting at all (hooks, or a tracer)."""
        return bool(self.hooks) or active_tracer() is not None

    async def send(self, send: Send, prepared: Prepared, bounds: Bounds, retry: int) -> Answer:
        """``send(prepared, bounds)``, reported."""
        url = prepared.url
        method = prepared.method
        shown = redact_url(url)
        tracer = active_tracer()
        span = None
        if tracer is not None:
            from opentelemetry.trace import SpanKind

            host, port = _server(url)
            attributes: dict[str, Any] = {
                "http.request.method": method,
                "url.full": shown,
                "server.address": host,
                "server.port": port,
            }
            if retry:
                attributes["http.request.resend_count"] = retry
            span = tracer.start_span(method, kind=SpanKind.CLIENT, attributes=attributes)
        started = time.perf_counter()
        try:
            answer = await send(prepared, bounds)
        except BaseException as exc:
            if span is not None:
                _end_span(span, None, type(exc).__name__)
            if isinstance(exc, GlobusRunsError):
                duration = time.perf_counter() - started
                await self._tell(RequestEvent(method, shown, retry + 1, None, duration, exc))
            raise
        status = answer[0]
        if span is not None:
            _end_span(span, status, str(status) if status >= 400 else None)
        if self.hooks:
            duration = time.perf_counter() - started
            await self._tell(RequestEvent(method, shown, retry + 1, status, duration))
        return answer

    async def _tell(self, event: RequestEvent) -> None:
        for hook in self.hooks:
            try:
                outcome = hook(event)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                # Reporting must never break the traffic it reports on.
                logger.exception("request hook %r failed", hook)


def _end_span(span: Any, status: int | None, error_type: str | None) -> None:
    if status is not None:
        span.set_attribute("http.response.status_code", status)
    if error_type is not None:
        from opentelemetry.trace import Status, StatusCode

        span.set_attribute("error.type", error_type)
        span.set_status(Status(StatusCode.ERROR))
    span.end()


@contextmanager
def parent_span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[None]:
    """A span around a batch, a wait or an exactly-once start, current inside the block;
    nothing at all when no tracer is active."""
    tracer = active_tracer()
    if tracer is None:
        yield
        return
    with tracer.start_as_current_span(name, attributes=dict(attributes or {})):
        yield
