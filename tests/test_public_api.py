"""The public names: what ``from globus_runs import *`` and ``from globus_runs.testing
import *`` give, listed once and sorted. Adding or removing one is a change of the public API
and shows here."""

from __future__ import annotations

import types
from typing import Any

import pytest

import globus_runs
import globus_runs.testing

PUBLIC = {
    "globus_runs": [
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
    ],
    "globus_runs.testing": [
        "FakeClock",
        "FakeGlobus",
        "Fault",
        "FaultKind",
        "Faults",
        "FlowBehavior",
        "RecordedRequest",
        "RequestLog",
        "asgi_transport",
        "serve_in_subprocess",
        "serve_in_thread",
    ],
}
MODULES = {"globus_runs": globus_runs, "globus_runs.testing": globus_runs.testing}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_all_lists_exactly_the_public_names(name: str) -> None:
    assert list(MODULES[name].__all__) == PUBLIC[name]


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_all_is_sorted(name: str) -> None:
    names = list(MODULES[name].__all__)
    assert names == sorted(names)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_name_is_importable_and_nothing_else_is_public(name: str) -> None:
    module = MODULES[name]
    namespace: dict[str, Any] = {}
    exec(f"from {name} import *", namespace)
    assert sorted(key for key in namespace if key != "__builtins__") == sorted(module.__all__)
    unlisted = [
        key
        for key, value in vars(module).items()
        if not key.startswith("_")
        and not isinstance(value, types.ModuleType)
        and key not in module.__all__
    ]
    assert unlisted == []
