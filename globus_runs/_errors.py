"""The exception tree: everything the library raises is a :class:`GlobusRunsError`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _json

if TYPE_CHECKING:
    from ._consent import AuthorizationParameters, InactiveReason
    from ._models import BatchResult, Run

__all__ = [
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectTimeoutError",
    "FlowNotFoundError",
    "GlobusRunsError",
    "InvalidIdError",
    "InvalidRequestError",
    "NetworkError",
    "NotAttemptedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseParseError",
    "ResponseTooLargeError",
    "RunInactiveError",
    "RunNotFoundError",
    "RunsNotFoundError",
    "ServerError",
    "TimerNotFoundError",
    "UnprocessableEntityError",
    "WebInputNotFoundError",
    "UnsupportedTimerError",
    "WaitTimeoutError",
    "is_run_not_found_error",
]

_BODY_PREVIEW = 500


class GlobusRunsError(Exception):
    """Root of every exception raised by ``globus_runs``."""

    #: How many times the failed request was sent (more than 1 after retries).
    attempts: int = 1


class ConfigurationError(GlobusRunsError, ValueError):
    """Raised when a client is built with unusable settings (an ``http`` URL to a remote host)."""


class InvalidRequestError(GlobusRunsError, ValueError):
    """Raised before any request when it cannot be sent: a bad argument (a filter, a body not
    JSON), a token that cannot go in a header, or a closed client."""


class InvalidIdError(InvalidRequestError):
    """Raised before any request when an id cannot be a Globus id (``/``, ``?``, ``..``, ...)."""


class APIError(GlobusRunsError):
    """Raised when a service answers with a non-2xx status.

    ``code`` is the service's error code (``"STATE_CONFLICT"``), ``message`` a readable summary,
    ``messages`` every individual message (one per validation error), ``request_id`` the
    service's debug id, ``body`` the raw response text.
    """

    def __init__(
        self,
        http_status: int,
        code: str,
        message: str,
        *,
        messages: list[str] | None = None,
        request_id: str | None = None,
        method: str = "",
        url: str = "",
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.http_status = http_status
        self.code = code
        self.message = message
        self.messages = messages if messages is not None else [message]
        self.request_id = request_id
        self.method = method
        self.url = url
        self.body = body
        self.retry_after = retry_after
        super().__init__(http_status, code, message)

    def __str__(self) -> str:
        where = f"{self.method} {self.url}: " if self.method else ""
        rid = f" (request_id={self.request_id})" if self.request_id else ""
        return f"{where}{self.http_status} {self.code}: {self.message}{rid}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(http_status={self.http_status!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r}, "
            f"method={self.method!r}, url={self.url!r})"
        )


class BadRequestError(APIError):
    """Raised on 400: the request or the flow input was invalid."""


class AuthenticationError(APIError):
    """Raised on 401: the token was missing, expired or revoked."""


class PermissionDeniedError(APIError):
    """Raised on 403: the token lacks a scope or the identity lacks a role.

    When the service says what would let the caller through (a Globus Auth requirements
    error: ``"code": "AuthenticationPolicyRequired"`` or ``"ConsentRequired"`` beside
    ``authorization_parameters``), ``authorization_parameters`` and ``requirement_code`` hold
    it; a refused web input answer also names the input in ``web_input_summary`` (raw).
    """

    def _document(self) -> dict[str, Any]:
        try:
            document = _json.loads(self.body) if self.body.strip() else None
        except (ValueError, RecursionError):
            return {}
        return document if isinstance(document, dict) else {}

    @property
    def authorization_parameters(self) -> AuthorizationParameters | None:
        """What Globus Auth must be asked for before a retry can succeed, if the body says."""
        from ._consent import parse_authorization_parameters  # imported on first use

        document = self._document()
        found = parse_authorization_parameters(document.get("authorization_parameters"))
        error = document.get("error")
        if found is None and isinstance(error, dict):
            found = parse_authorization_parameters(error.get("authorization_parameters"))
        return found

    @property
    def requirement_code(self) -> str | None:
        """The requirements error's own code (``"AuthenticationPolicyRequired"``...), if any."""
        code = self._document().get("code")
        return code if isinstance(code, str) else None

    @property
    def web_input_summary(self) -> dict[str, Any] | None:
        """The web input a refused web-input call was about, as the service described it."""
        summary = self._document().get("web_input_summary")
        return summary if isinstance(summary, dict) else None


class NotFoundError(APIError):
    """Raised on 404."""


class RunNotFoundError(NotFoundError):
    """Raised on 404 from an operation addressing one run."""


class RunsNotFoundError(RunNotFoundError):
    """Raised by ``wait_for_runs``, once every other run has ended, when some of its runs were
    not found (404: deleted, or never visible to the caller).

    ``results`` holds every run's outcome in input order (a :class:`BatchResult` whose
    ``value`` is the final run, or whose ``error`` is that run's :class:`RunNotFoundError`);
    ``missing`` the ids not found. The other fields are those of the first 404.
    """

    def __init__(self, results: list[BatchResult[Run]]) -> None:
        errors = [r.error for r in results if isinstance(r.error, NotFoundError)]
        first = errors[0]
        super().__init__(
            first.http_status,
            first.code,
            first.message,
            messages=first.messages,
            request_id=first.request_id,
            method=first.method,
            url=first.url,
            body=first.body,
        )
        self.results = results
        self.missing: list[str] = [r.input for r in results if r.error is not None]

    def __str__(self) -> str:
        return (
            f"{len(self.missing)} of {len(self.results)} run(s) not found "
            f"(first: {super().__str__()})"
        )


class FlowNotFoundError(NotFoundError):
    """Raised on 404 from an operation addressing one flow (starting or validating a run)."""


class TimerNotFoundError(NotFoundError):
    """Raised on 404 from an operation addressing one timer, or a timer run not in its history."""


class WebInputNotFoundError(NotFoundError):
    """Raised on 404 from an operation addressing one web input."""


class ConflictError(APIError):
    """Raised on 409: the run's state does not allow the operation (``STATE_CONFLICT``)."""


class UnprocessableEntityError(APIError):
    """Raised on 422: the request's parameters or body failed validation."""


class RateLimitError(APIError):
    """Raised on 429 once retries are exhausted or ``Retry-After`` cannot be honoured."""


class ServerError(APIError):
    """Raised on 5xx once retries are exhausted."""


class NetworkError(GlobusRunsError):
    """Raised when no complete answer was received (connection failed, reset or closed)."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        self.message = message
        self.method = method
        self.url = url
        super().__init__(message)

    def __str__(self) -> str:
        where = f"{self.method} {self.url}: " if self.method else ""
        return f"{where}{self.message}"


class APITimeoutError(NetworkError):
    """Raised when connecting, sending or reading timed out."""


class ConnectError(NetworkError):
    """Raised when no connection could be made: the request provably never reached the server."""


class ConnectTimeoutError(ConnectError, APITimeoutError):
    """Raised when connecting (or waiting for a pooled connection) timed out."""


class ResponseParseError(GlobusRunsError):
    """Raised when a 2xx answer's body is not the documented shape; ``text`` keeps the body."""

    def __init__(self, message: str, *, text: str = "", method: str = "", url: str = "") -> None:
        self.message = message
        self.text = text
        self.method = method
        self.url = url
        super().__init__(message)

    def __str__(self) -> str:
        where = f"{self.method} {self.url}: " if self.method else ""
        preview = self.text[:_BODY_PREVIEW]
        return f"{where}{self.message} (body: {preview!r})"


class ResponseTooLargeError(ResponseParseError):
    """Raised when an answer's body passes the client's ``max_response_size``.

    The limit applies to the body as received and as decoded (a small compressed body that
    expands past it counts as too large); the connection is dropped. Not retried: the same
    request would get the same answer. ``limit`` is the size in bytes that was exceeded.
    """

    def __init__(self, message: str, *, limit: int, method: str = "", url: str = "") -> None:
        super().__init__(message, method=method, url=url)
        self.limit = limit

    def __str__(self) -> str:
        where = f"{self.method} {self.url}: " if self.method else ""
        return f"{where}{self.message}"


class WaitTimeoutError(GlobusRunsError):
    """Raised when a wait exceeds its ``timeout``; ``last_run`` is the last state seen."""

    def __init__(
        self, message: str, *, last_run: Run | None = None, last_runs: list[Run] | None = None
    ) -> None:
        self.last_run = last_run
        #: For ``wait_for_runs``: the last state seen of every run, in input order.
        self.last_runs = last_runs if last_runs is not None else []
        super().__init__(message)


class RunInactiveError(GlobusRunsError):
    """Raised by ``wait_for_run(on_inactive="raise")``; ``run.details`` says why it is paused.

    ``reason`` is the parsed ``run.inactive_reason`` (code, scopes to consent to...).
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self.reason: InactiveReason | None = run.inactive_reason
        code = run.details.get("code") if isinstance(run.details, dict) else None
        # Only a plain code is shown: ``details`` may nest too deeply to print.
        shown = f" ({code})" if isinstance(code, str) and code else ""
        super().__init__(f"run {run.run_id} is INACTIVE{shown}")


class UnsupportedTimerError(GlobusRunsError):
    """Raised when an operation needs a flow timer but the timer is of another type."""


class NotAttemptedError(GlobusRunsError):
    """A batch item's error when it was never sent: an earlier item's answer showed it must fail.

    ``cause`` is that answer's error (a rejected token that cannot be renewed, a missing scope,
    a missing flow...), ``reason`` says in words what it showed. ``attempts`` is 0.

    Example::

        for result in await flows.batch_run_flows(requests):
            if isinstance(result.error, NotAttemptedError):
                print(result.index, "not sent:", result.error.reason)
    """

    attempts = 0

    def __init__(self, cause: GlobusRunsError, reason: str) -> None:
        self.cause = cause
        self.reason = reason
        super().__init__(f"not attempted: {reason} ({cause})")
        self.__cause__ = cause


def is_run_not_found_error(err: BaseException) -> bool:
    """Tell whether ``err`` means the addressed run does not exist (or is not visible).

    Example::

        try:
            run = await flows.get_run(run_id)
        except APIError as err:
            if not is_run_not_found_error(err):
                raise
            run = None
    """
    return isinstance(err, RunNotFoundError)


class RunInputUnavailableError(GlobusRunsError):
    """Raised by ``get_run_input`` when a run's log does not start with its input.

    The input is the ``details.input`` of the run's first log entry (``FlowStarted``).
    """

    def __init__(self, run_id: str, reason: str) -> None:
        self.run_id = run_id
        super().__init__(f"the input of run {run_id} is not available: {reason}")
