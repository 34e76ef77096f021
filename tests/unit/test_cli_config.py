"""How the command line reads its settings from the environment (pure, no requests)."""

from __future__ import annotations

import httpx
import pytest

from globus_runs import ConfigurationError
from globus_runs.cli._config import DEFAULT_SCOPES, ServiceAccount, Settings, flow_scope
from globus_runs.cli._results import InputError, parse_line

from ..cli.conftest import CONFIG_VARIABLES, env_invoker

FLOW = "6f1c5c2e-1d53-4c57-9f0a-3b8d8e0c0a11"


def test_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "GLOBUS_RUNS_CLIENT_ID": "client",
            "GLOBUS_RUNS_CLIENT_SECRET": "secret",
            "GLOBUS_RUNS_SCOPES": "scope:a, scope:b  scope:c",
            "GLOBUS_RUNS_FLOWS_URL": "http://127.0.0.1:8000/flows/",
            "GLOBUS_RUNS_TIMERS_URL": "http://127.0.0.1:8000/timers/",
            "GLOBUS_RUNS_AUTH_URL": "http://127.0.0.1:8000/auth/",
            "GLOBUS_RUNS_ENVIRONMENT": "sandbox",
            "GLOBUS_RUNS_TOKEN": "  ",
        }
    )
    assert settings == Settings(
        token=None,
        client_id="client",
        client_secret="secret",
        scopes=("scope:a", "scope:b", "scope:c"),
        flows_url="http://127.0.0.1:8000/flows/",
        timers_url="http://127.0.0.1:8000/timers/",
        auth_url="http://127.0.0.1:8000/auth/",
        environment="sandbox",
    )


def test_the_secrets_are_not_in_the_repr() -> None:
    settings = Settings.from_env(
        {"GLOBUS_RUNS_TOKEN": "tok-123", "GLOBUS_RUNS_CLIENT_SECRET": "s3"}
    )
    assert "tok-123" not in repr(settings)
    assert "s3" not in repr(settings)


@pytest.mark.anyio
async def test_a_token_wins_over_client_credentials() -> None:
    settings = Settings(token="tok", client_id="client", client_secret="secret")
    async with httpx.AsyncClient() as http_client:
        assert settings.authorizer(http_client) == "tok"


@pytest.mark.anyio
async def test_client_credentials_default_to_the_flows_and_timers_scopes() -> None:
    settings = Settings(client_id="client", client_secret="secret")
    async with httpx.AsyncClient() as http_client:
        authorizer = settings.authorizer(http_client)
    assert isinstance(authorizer, ServiceAccount)
    assert "secret" not in repr(authorizer)
    assert authorizer._main.scopes == list(DEFAULT_SCOPES)
    assert authorizer._for("flows.globus.org") is authorizer._main
    assert authorizer._for("524230d7-ea86-4a52-8312-86065a9e0417") is authorizer._main
    per_flow = authorizer._for(FLOW)
    assert per_flow.scopes == [flow_scope(FLOW)]
    assert authorizer._for(FLOW) is per_flow


@pytest.mark.anyio
async def test_a_flow_scope_given_in_the_scopes_is_used_for_that_flow() -> None:
    settings = Settings(client_id="client", client_secret="secret", scopes=(flow_scope(FLOW),))
    async with httpx.AsyncClient() as http_client:
        authorizer = settings.authorizer(http_client)
    assert isinstance(authorizer, ServiceAccount)
    assert authorizer._for(FLOW) is authorizer._main


@pytest.mark.anyio
async def test_no_credentials_is_a_configuration_error() -> None:
    async with httpx.AsyncClient() as http_client:
        with pytest.raises(ConfigurationError, match="GLOBUS_RUNS_TOKEN"):
            Settings(client_id="client").authorizer(http_client)


def test_a_flow_scope_names_the_flow() -> None:
    assert flow_scope(FLOW) == (
        f"https://auth.globus.org/scopes/{FLOW}/flow_6f1c5c2e_1d53_4c57_9f0a_3b8d8e0c0a11_user"
    )


def test_an_input_line_is_a_start_request() -> None:
    request = parse_line(
        '{"body": {"n": 1}, "label": "one", "tags": ["t"], "run_monitors": ["urn:m"]}', FLOW
    )
    assert (request.flow_id, request.body, request.label) == (FLOW, {"n": 1}, "one")
    assert (request.tags, request.run_monitors, request.run_managers) == (["t"], ["urn:m"], None)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("[1]", "not a JSON object"),
        ('{"body": [1]}', "'body' (the flow input) must be a JSON object"),
        ('{"body": {}, "label": 3}', "'label' must be a string"),
        ('{"body": {}, "tags": "t"}', "'tags' must be a list of strings"),
        ('{"input": {}}', "unknown keys ['input']: put the flow input under 'body'"),
    ],
)
def test_a_line_that_is_not_a_start_request_says_why(line: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_line(line, FLOW)
    assert str(caught.value) == message


RUN = "00000000-0000-4000-8000-000000000000"
URL_VARIABLES = ("GLOBUS_RUNS_FLOWS_URL", "GLOBUS_RUNS_TIMERS_URL", "GLOBUS_RUNS_AUTH_URL")


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"GLOBUS_RUNS_ENVIRONMENT": "prodution"},
            "GLOBUS_RUNS_ENVIRONMENT='prodution' is invalid: not a Globus environment (one of "
            "production, sandbox, preview, test, integration, staging)",
        ),
        (
            {"GLOBUS_RUNS_FLOWS_URL": "htps://flows.example.org/"},
            "GLOBUS_RUNS_FLOWS_URL='htps://flows.example.org/' is invalid: base_url "
            "'htps://flows.example.org/' is not an http(s) URL",
        ),
        (
            {"GLOBUS_RUNS_TIMERS_URL": "http://timers.example.org/"},
            "GLOBUS_RUNS_TIMERS_URL='http://timers.example.org/' is invalid: base_url "
            "'http://timers.example.org/' must use https: only a loopback address "
            "(127.0.0.1, ::1) or localhost may be reached over http",
        ),
        (
            {"GLOBUS_RUNS_AUTH_URL": "https://auth.example.org:99999/"},
            "GLOBUS_RUNS_AUTH_URL='https://auth.example.org:99999/' is invalid: base_url "
            "'https://auth.example.org:99999/' is not a valid URL: Port out of range 0-65535",
        ),
        (
            {
                "GLOBUS_RUNS_TOKEN": None,
                "GLOBUS_RUNS_CLIENT_ID": None,
                "GLOBUS_RUNS_CLIENT_SECRET": None,
            },
            "no credentials: set GLOBUS_RUNS_TOKEN, or GLOBUS_RUNS_CLIENT_ID and "
            "GLOBUS_RUNS_CLIENT_SECRET",
        ),
        (
            {
                "GLOBUS_RUNS_TOKEN": None,
                "GLOBUS_RUNS_CLIENT_ID": "client",
                "GLOBUS_RUNS_CLIENT_SECRET": None,
            },
            "GLOBUS_RUNS_CLIENT_SECRET is not set: GLOBUS_RUNS_CLIENT_ID needs it (or set "
            "GLOBUS_RUNS_TOKEN)",
        ),
    ],
)
def test_a_configuration_typo_is_one_line_naming_the_variable_before_any_request(
    variables: dict[str, str | None], message: str
) -> None:
    # Nothing listens there: a request sent would be a retry line and a ConnectError.
    nowhere = "http://127.0.0.1:9/"
    env: dict[str, str | None] = dict.fromkeys(CONFIG_VARIABLES)
    env.update(dict.fromkeys(URL_VARIABLES, nowhere), GLOBUS_RUNS_TOKEN="t")
    env.update(variables)

    result = env_invoker(env)("runs", "show", RUN)

    assert result.exit_code == 1
    assert result.stderr == f"Error: ConfigurationError: {message}\n"
