"""globus_runs: an asyncio-native client for the run operations of Globus Flows and Timers.

What a Flows client needs is imported with the package; Timers and its models, the OAuth
authorizers, run summaries, the events of ``watch_run``, the consent and web-input models are
imported when first used (``globus_runs.TimersClient`` works as ever).
"""

import typing as _typing

from ._auth import (
    FLOWS_RESOURCE_SERVER,
    TIMERS_RESOURCE_SERVER,
    AccessTokenAuthorizer,
    Authorizer,
    CallbackAuthorizer,
    TokenMapAuthorizer,
)
from ._batch import BatchStream
from ._errors import (
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    ConnectTimeoutError,
    FlowNotFoundError,
    GlobusRunsError,
    InvalidIdError,
    InvalidRequestError,
    NetworkError,
    NotAttemptedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseParseError,
    ResponseTooLargeError,
    RunInactiveError,
    RunInputUnavailableError,
    RunNotFoundError,
    RunsNotFoundError,
    ServerError,
    TimerNotFoundError,
    UnprocessableEntityError,
    UnsupportedTimerError,
    WaitTimeoutError,
    WebInputNotFoundError,
    is_run_not_found_error,
)
from ._http.clients import pooled_http_client
from ._models import (
    BatchResult,
    FlowDescription,
    Run,
    RunDefinition,
    RunError,
    RunLogEntry,
    RunLogPage,
    RunPage,
    RunRequest,
    RunStatus,
)
from ._retry import RetryEvent, RetryPolicy
from ._telemetry import RequestEvent, configure_telemetry
from ._version import __version__
from .flows import FlowsClient, WaitProgress
from .flows._fleet import DEFAULT_CHUNK_SIZE, BulkCancelResult

if _typing.TYPE_CHECKING:
    from ._consent import (
        AuthorizationParameters,
        ConsentGroup,
        InactiveReason,
        group_by_consent,
        parse_inactive_reason,
    )
    from ._events import (
        RunEvent,
        RunLogEvent,
        RunNeedsConsentEvent,
        RunStatusEvent,
        RunWaitingForInputEvent,
    )
    from ._oauth import ClientCredentialsAuthorizer, RefreshTokenAuthorizer, TokenResponse
    from ._summary import RunSummary, SummaryBuilder, summarize_runs
    from ._timer_models import (
        RunResult,
        Timer,
        TimerRun,
        TimerRunError,
        TimerRunPage,
        TimerRunStatus,
    )
    from ._web_input_models import (
        WebInput,
        WebInputContext,
        WebInputFlow,
        WebInputOption,
        WebInputPage,
        WebInputRoles,
        WebInputRun,
        WebInputState,
        WebInputSummary,
    )
    from .timers import TimersClient

#: The names imported on first use, and the module each comes from.
_LAZY = {
    "ClientCredentialsAuthorizer": "._oauth",
    "RefreshTokenAuthorizer": "._oauth",
    "TokenResponse": "._oauth",
    "RunSummary": "._summary",
    "SummaryBuilder": "._summary",
    "summarize_runs": "._summary",
    "TimersClient": ".timers",
    "RunEvent": "._events",
    "RunLogEvent": "._events",
    "RunNeedsConsentEvent": "._events",
    "RunStatusEvent": "._events",
    "RunWaitingForInputEvent": "._events",
    "AuthorizationParameters": "._consent",
    "ConsentGroup": "._consent",
    "InactiveReason": "._consent",
    "group_by_consent": "._consent",
    "parse_inactive_reason": "._consent",
    "RunResult": "._timer_models",
    "Timer": "._timer_models",
    "TimerRun": "._timer_models",
    "TimerRunError": "._timer_models",
    "TimerRunPage": "._timer_models",
    "TimerRunStatus": "._timer_models",
    "WebInput": "._web_input_models",
    "WebInputContext": "._web_input_models",
    "WebInputFlow": "._web_input_models",
    "WebInputOption": "._web_input_models",
    "WebInputPage": "._web_input_models",
    "WebInputRoles": "._web_input_models",
    "WebInputRun": "._web_input_models",
    "WebInputState": "._web_input_models",
    "WebInputSummary": "._web_input_models",
}


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "APIError",
    "APITimeoutError",
    "AccessTokenAuthorizer",
    "AuthenticationError",
    "AuthorizationParameters",
    "Authorizer",
    "BadRequestError",
    "BatchResult",
    "BatchStream",
    "BulkCancelResult",
    "CallbackAuthorizer",
    "ClientCredentialsAuthorizer",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConsentGroup",
    "DEFAULT_CHUNK_SIZE",
    "FLOWS_RESOURCE_SERVER",
    "FlowDescription",
    "FlowNotFoundError",
    "FlowsClient",
    "GlobusRunsError",
    "InactiveReason",
    "InvalidIdError",
    "InvalidRequestError",
    "NetworkError",
    "NotAttemptedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RefreshTokenAuthorizer",
    "RequestEvent",
    "ResponseParseError",
    "ResponseTooLargeError",
    "RetryEvent",
    "RetryPolicy",
    "Run",
    "RunDefinition",
    "RunError",
    "RunEvent",
    "RunInactiveError",
    "RunInputUnavailableError",
    "RunLogEntry",
    "RunLogEvent",
    "RunLogPage",
    "RunNeedsConsentEvent",
    "RunNotFoundError",
    "RunPage",
    "RunRequest",
    "RunResult",
    "RunStatus",
    "RunStatusEvent",
    "RunSummary",
    "RunWaitingForInputEvent",
    "RunsNotFoundError",
    "ServerError",
    "SummaryBuilder",
    "TIMERS_RESOURCE_SERVER",
    "Timer",
    "TimerNotFoundError",
    "TimerRun",
    "TimerRunError",
    "TimerRunPage",
    "TimerRunStatus",
    "TimersClient",
    "TokenMapAuthorizer",
    "TokenResponse",
    "UnprocessableEntityError",
    "UnsupportedTimerError",
    "WaitProgress",
    "WaitTimeoutError",
    "WebInput",
    "WebInputContext",
    "WebInputFlow",
    "WebInputNotFoundError",
    "WebInputOption",
    "WebInputPage",
    "WebInputRoles",
    "WebInputRun",
    "WebInputState",
    "WebInputSummary",
    "__version__",
    "configure_telemetry",
    "group_by_consent",
    "is_run_not_found_error",
    "parse_inactive_reason",
    "pooled_http_client",
    "summarize_runs",
]
