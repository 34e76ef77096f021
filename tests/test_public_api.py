"""The public names: what ``from globus_runs import *`` and ``from globus_runs.testing
import *`` give, listed once and sorted. Adding or removing one is a change of the public API
and shows here. Outside ``tests/unit/``, the tests use those names only."""

from __future__ import annotations

import ast
import types
from pathlib import Path
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


# -- the tests speak the public API -------------------------------------------------------
# Only the unit tests of a private module (``tests/unit/``) import it; every other test, and
# every helper beside them, reaches the library through its public names.

TESTS = Path(__file__).resolve().parent
BEHAVIOUR_TESTS = sorted(
    path for path in TESTS.rglob("*.py") if path.relative_to(TESTS).parts[0] != "unit"
)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(source: str) -> list[str]:
    """The private modules and names of ``globus_runs`` that ``source`` imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            names: list[str] = []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            names = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] != "globus_runs":
                continue
            if any(_private(part) for part in parts) or any(_private(name) for name in names):
                found.append(ast.unparse(node))
    return found


def test_the_scan_finds_private_imports() -> None:
    package = "globus_runs"  # spelled apart, so that a plain grep of the tests finds none
    source = (
        f"import {package}._h1\nfrom {package}.flows import _tracker\n"
        f"from {package}.cli._config import Settings\nfrom {package} import Run\n"
        f"from {package}.testing.__main__ import main\nimport httpx._models\n"
    )
    assert private_imports(source) == [
        f"import {package}._h1",
        f"from {package}.flows import _tracker",
        f"from {package}.cli._config import Settings",
    ]


@pytest.mark.parametrize("path", BEHAVIOUR_TESTS, ids=lambda path: str(path.relative_to(TESTS)))
def test_no_test_outside_the_unit_tests_imports_a_private_module(path: Path) -> None:
    assert private_imports(path.read_text()) == []
