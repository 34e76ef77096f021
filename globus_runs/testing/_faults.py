"""Fault injection for the emulator: which requests fail, and how.

`Faults` (``fake.faults``) holds an ordered list of `Fault` rules. For every
request the emulator receives, `Faults.pick` walks the rules in the order they
were added: a rule applies when its route and method match and it has not used
up its ``count``; it then fires with its ``probability``, drawn from
``Faults.rng`` (a seedable `random.Random`, one draw per applicable rule). The
first rule that fires decides the request's fate.

This module knows nothing of ASGI: it decides, and renders the answers
(`Answer`) the web layer sends.
"""

from __future__ import annotations

import email.utils
import json
import math
import random
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Literal, get_args

import attrs

__all__ = ["KINDS", "Answer", "Fault", "FaultKind", "Faults"]

FaultKind = Literal[
    "429",
    "500",
    "502",
    "503",
    "504",
    "reset_before",
    "reset_after",
    "slow",
    "malformed",
    "truncated",
    "html",
]
KINDS: Final[tuple[str, ...]] = get_args(FaultKind)

_SERVER_ERRORS: Final[dict[str, tuple[int, str, str]]] = {
    "500": (500, "INTERNAL_SERVER_ERROR", "An unexpected error occurred"),
    "502": (502, "BAD_GATEWAY", "An upstream service answered with an error"),
    "503": (503, "SERVICE_UNAVAILABLE", "The service is temporarily unavailable"),
    "504": (504, "GATEWAY_TIMEOUT", "An upstream service did not answer in time"),
}
# Kinds whose answer is built from the one the service gave: the request is handled.
_ALTERING: Final = frozenset({"reset_after", "slow", "malformed", "truncated"})
# Kinds that may hand the request to the service first and then answer their error.
_MAY_PROCESS: Final = frozenset({*_SERVER_ERRORS, "html"})
_DEFAULT_MALFORMED: Final = {"unexpected": True}
# The head sent before dropping a connection when the service gave no answer.
_PLACEHOLDER_LENGTH: Final = 64


class _Unset:
    """Marks an argument left out."""


_UNSET: Final = _Unset()


@attrs.frozen
class Answer:
    """An HTTP answer: status, raw ASGI headers and the whole body."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower().encode("latin-1")
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None

    def with_body(self, body: bytes, content_type: str | None = None) -> Answer:
        """The same answer with ``body`` and a matching ``content-length``."""
        replaced = {b"content-length"}
        extra = [(b"content-length", str(len(body)).encode("ascii"))]
        if content_type is not None:
            replaced.add(b"content-type")
            extra.append((b"content-type", content_type.encode("latin-1")))
        kept = [(k, v) for k, v in self.headers if k.lower() not in replaced]
        return Answer(self.status, (*kept, *extra), body)


def _answer(
    status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
) -> Answer:
    raw = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    return Answer(status, tuple(raw), body)


def _json_error(
    status: int, code: str, detail: str, headers: Mapping[str, str] | None = None
) -> Answer:
    """An error in the Flows shape: ``{"error": {"code", "detail"}, "debug_id"}``."""
    document = {"error": {"code": code, "detail": detail}, "debug_id": str(uuid.uuid4())}
    return _answer(status, json.dumps(document).encode(), "application/json", headers)


def _html_page(status: int) -> Answer:
    title = f"{status} Proxy Error"
    page = (
        f"<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n"
        f"<body><h1>{title}</h1><p>The gateway could not get a valid answer "
        f"from the service.</p><hr><address>edge-proxy</address></body></html>\n"
    )
    return _answer(status, page.encode(), "text/html; charset=utf-8")


def format_retry_after(seconds: float, *, http_date: bool, now: datetime) -> str:
    """A ``Retry-After`` value: delta-seconds, or the HTTP date ``seconds`` after ``now``.

    A date has a resolution of one second; it is rounded up so that a client
    never waits less than ``seconds``.
    """
    if http_date:
        when = now + timedelta(seconds=seconds)
        if when.microsecond:
            when = when.replace(microsecond=0) + timedelta(seconds=1)
        return email.utils.format_datetime(when, usegmt=True)
    return str(int(seconds)) if seconds == int(seconds) else repr(float(seconds))


def _route_pattern(route: str) -> re.Pattern[str]:
    """``*`` alone matches every path; else ``*`` is one segment's text, ``**`` anything."""
    if route == "*":
        return re.compile(r".*", re.DOTALL)
    if not route.startswith("/"):
        raise ValueError(f"route must be '*' or start with '/', not {route!r}")
    parts = []
    for piece in re.split(r"(\*\*|\*)", route):
        if piece == "**":
            parts.append(".*")
        elif piece == "*":
            parts.append("[^/]*")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts), re.DOTALL)


def _methods(method: str | Iterable[str] | None) -> frozenset[str] | None:
    if method is None:
        return None
    names = [method] if isinstance(method, str) else list(method)
    if not names:
        raise ValueError("method must name at least one HTTP method")
    return frozenset(name.upper() for name in names)


@attrs.define(eq=False, kw_only=True)
class Fault:
    """One fault rule, made (and its arguments checked) by `Faults.add`.

    ``fired`` counts the requests it hit; ``methods`` is ``None`` for any method.
    """

    kind: FaultKind
    route: str = "*"
    methods: frozenset[str] | None = None
    probability: float = 1.0
    count: int | None = None
    retry_after: float | None = 1.0
    retry_after_http_date: bool = False
    delay: float | None = None
    status: int | None = None
    body: Any = attrs.field(factory=lambda: dict(_DEFAULT_MALFORMED))
    processed: bool = False
    fired: int = 0
    _pattern: re.Pattern[str] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._pattern = _route_pattern(self.route)

    @property
    def exhausted(self) -> bool:
        """True once it fired ``count`` times."""
        return self.count is not None and self.fired >= self.count

    @property
    def drops_connection(self) -> bool:
        """True for the kinds that close the connection instead of answering."""
        return self.kind in ("reset_before", "reset_after")

    @property
    def calls_service(self) -> bool:
        """True when the service handles the request (and changes its state) first."""
        return self.kind in _ALTERING or self.processed

    def matches(self, method: str, path: str) -> bool:
        """Whether a request ``method path`` (path with its service prefix) is in scope.

        Example::

            assert fake.faults.add("503", route="/flows/runs/*").matches("GET", "/flows/runs/abc")
        """
        if self.methods is not None and method.upper() not in self.methods:
            return False
        return self._pattern.fullmatch(path) is not None

    def answer(self, service_answer: Answer | None, *, now: datetime) -> Answer:
        """What to send instead of (or made of) ``service_answer``.

        ``service_answer`` is the service's own answer when `calls_service`.
        ``now`` (wall-clock, aware) dates an HTTP-date ``Retry-After``. For
        dropped connections it is the head sent before the connection closes.

        Example::

            fault = fake.faults.add("429", retry_after=2)
            answer = fault.answer(None, now=fake.clock.now())
            assert (answer.status, answer.header("retry-after")) == (429, "2")
        """
        kind = self.kind
        if kind == "429":
            headers = {}
            if self.retry_after is not None:
                headers["retry-after"] = format_retry_after(
                    self.retry_after, http_date=self.retry_after_http_date, now=now
                )
            return _json_error(429, "TOO_MANY_REQUESTS", "Rate limit exceeded", headers)
        if kind in _SERVER_ERRORS:
            return _json_error(*_SERVER_ERRORS[kind])
        if kind == "html":
            return _html_page(self.status or 502)
        if service_answer is None:
            if kind != "reset_before":
                raise ValueError(f"a {kind!r} fault needs the service's answer")
            return _answer(200, b" " * _PLACEHOLDER_LENGTH, "application/json")
        if kind == "malformed":
            return service_answer.with_body(json.dumps(self.body).encode(), "application/json")
        if kind == "truncated":
            return service_answer.with_body(service_answer.body[: len(service_answer.body) // 2])
        return service_answer  # "slow" and "reset_after"


def _check(
    kind: str,
    *,
    probability: float,
    count: int | None,
    retry_after: float | None,
    delay: float | None,
    status: int | None,
    body: Any,
    processed: bool,
) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must be between 0 and 1, not {probability!r}")
    if count is not None and count < 1:
        raise ValueError(f"count must be at least 1 (or None), not {count!r}")
    if retry_after is not None and not (math.isfinite(retry_after) and retry_after >= 0):
        raise ValueError(f"retry_after must be a non-negative number, not {retry_after!r}")
    if kind == "slow":
        if delay is None or not (math.isfinite(delay) and delay >= 0):
            raise ValueError("a 'slow' fault needs delay=<seconds>, a non-negative number")
    elif delay is not None:
        raise ValueError("delay= applies only to 'slow' faults")
    if status is not None and (kind != "html" or not 400 <= status <= 599):
        raise ValueError("status= applies only to 'html' faults, and must be 4xx or 5xx")
    if not isinstance(body, _Unset) and kind != "malformed":
        raise ValueError("body= applies only to 'malformed' faults")
    if processed and kind not in _MAY_PROCESS:
        raise ValueError("processed= applies only to 5xx and 'html' faults")


class Faults:
    """The fault rules of one emulator (``fake.faults``); see `add`.

    ``rng`` draws the probabilities (`seed` makes runs reproducible);
    ``stats`` counts the faults injected by kind; ``fired`` is their total.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.stats: Counter[str] = Counter()
        # Replaced, never mutated: the server thread may iterate while a test adds rules.
        self._rules: tuple[Fault, ...] = ()

    def add(
        self,
        kind: FaultKind,
        *,
        route: str = "*",
        method: str | Iterable[str] | None = None,
        probability: float = 1.0,
        count: int | None = None,
        retry_after: float | None = 1.0,
        retry_after_http_date: bool = False,
        delay: float | None = None,
        status: int | None = None,
        body: Any = _UNSET,
        processed: bool = False,
    ) -> Fault:
        """Inject ``kind`` into the matching requests; returns the rule.

        Kinds:

        - ``"429"``: a Flows-shaped 429 with ``Retry-After: retry_after`` (none
          when ``None``; with ``retry_after_http_date``, the HTTP date that many
          seconds ahead of the wall clock, which is what clients compare it with).
        - ``"500"``, ``"502"``, ``"503"``, ``"504"``: a Flows-shaped error body.
        - ``"html"``: an HTML error page from a proxy, status ``status`` (502).
        - ``"reset_before"``: the connection drops; the service never sees the request.
        - ``"reset_after"``: the service handles the request (a run starts, say),
          then the connection drops before the answer arrives.
        - ``"slow"``: the service handles the request; its answer is sent
          ``delay`` real seconds later (to outlast a client's read timeout).
        - ``"malformed"``: the service's answer with its body replaced by the
          JSON value ``body`` (default ``{"unexpected": true}``).
        - ``"truncated"``: the service's answer with the first half of its body
          only (and a ``content-length`` to match).

        With ``processed``, 5xx and ``"html"`` faults let the service handle the
        request before answering their error (a run started behind a 504).

        ``route`` is matched against the path with its service prefix
        (``/flows/runs/abc``; no query): ``*`` alone matches every path,
        otherwise ``*`` matches within one path segment and ``**`` across
        segments (``/flows/flows/*/run``, ``/timers/**``). ``method`` limits the
        rule to one or several HTTP methods. ``count`` makes it fire at most
        that many times; ``probability`` is the chance it fires on each
        request it applies to.

        Example::

            fake.faults.add("429", route="/flows/flows/*/run", count=1, retry_after=2)
            fake.faults.add("reset_after", method="POST", probability=0.1)
        """
        _check(
            kind,
            probability=probability,
            count=count,
            retry_after=retry_after,
            delay=delay,
            status=status,
            body=body,
            processed=processed,
        )
        fault = Fault(
            kind=kind,
            route=route,
            methods=_methods(method),
            probability=probability,
            count=count,
            retry_after=retry_after,
            retry_after_http_date=retry_after_http_date,
            delay=delay,
            status=status,
            body=dict(_DEFAULT_MALFORMED) if isinstance(body, _Unset) else body,
            processed=processed,
        )
        self._rules = (*self._rules, fault)
        return fault

    def remove(self, fault: Fault) -> None:
        """Stop injecting ``fault`` (a rule returned by `add`).

        Example::

            rule = fake.faults.add("503")
            fake.faults.remove(rule)
        """
        self._rules = tuple(rule for rule in self._rules if rule is not fault)

    def clear(self) -> None:
        """Remove every rule and reset ``stats``.

        Example::

            fake.faults.clear()
        """
        self._rules = ()
        self.stats.clear()

    def seed(self, n: int | None) -> None:
        """Reseed ``rng``: the same rules and requests then fire the same faults.

        Example::

            fake.faults.seed(42)  # the same requests fail on every test run
        """
        self.rng.seed(n)

    @property
    def rules(self) -> tuple[Fault, ...]:
        """The rules, in the order they are tried."""
        return self._rules

    @property
    def fired(self) -> int:
        """How many faults were injected since the last `clear`."""
        return sum(self.stats.values())

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault to inject into a request ``method path``, if any; counts it as fired.

        Example::

            fault = fake.faults.pick("GET", "/flows/runs")
        """
        for fault in self._rules:
            if fault.exhausted or not fault.matches(method, path):
                continue
            if self.rng.random() < fault.probability:
                fault.fired += 1
                self.stats[fault.kind] += 1
                return fault
        return None
