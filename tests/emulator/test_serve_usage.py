"""``python -m globus_runs.testing serve`` for a newcomer: its help, its usage errors, its
optional port, the clients it registers and how it describes the sample flows."""

from __future__ import annotations

import socket

import httpx
import pytest

from globus_runs.testing import serve_in_subprocess
from globus_runs.testing.__main__ import main

SERVE_USAGE = "usage: python -m globus_runs.testing serve"
CLIENT_ID = "8f8a1e4c-4c5c-4d1e-9d5c-2a7e1d2b3c4d"


def test_serve_help_prints_the_serve_usage_and_what_it_announces(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(SERVE_USAGE)
    for text in ("--client ID:SECRET", "default: a free one", "GLOBUS_SDK_SERVICE_URL_FLOWS"):
        assert text in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--client", "no-secret"], "--client wants ID:SECRET (both non-empty), not 'no-secret'"),
        (["--client", ":secret"], "--client wants ID:SECRET (both non-empty), not ':secret'"),
        (["--client", "my-app:secret"], "the client id in --client must be a UUID"),
        (["--port", "70000"], "--port must be within 0..65535, not 70000"),
        (["--port", "x"], "argument --port: invalid int value: 'x'"),
        (["--speed", "0"], "--speed must be positive, not 0"),
        (["--host", "0.0.0.0"], "only listens on loopback hosts"),
    ],
)
def test_bad_arguments_print_the_serve_usage(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", *argv])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(SERVE_USAGE)
    assert message in err


def test_the_same_client_twice_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--client", f"{CLIENT_ID}:one", "--client", f"{CLIENT_ID}:two"])
    assert exited.value.code == 2
    assert f"client {CLIENT_ID} is already registered" in capsys.readouterr().err


def test_a_port_in_use_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["serve", "--port", str(port)])
    assert exited.value.code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_a_client_given_to_serve_gets_tokens_by_client_credentials() -> None:
    scope = "https://auth.globus.org/scopes/524230d7-ea86-4a52-8312-86065a9e0417/timer"
    with serve_in_subprocess(clients=[f"{CLIENT_ID}:my-secret"]) as info:
        assert info["client_ids"] == [CLIENT_ID]
        assert len(info["timer_ids"]) == 2  # the token holder's and the client's
        granted = httpx.post(
            info["auth_url"] + "v2/oauth2/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(CLIENT_ID, "my-secret"),
        )
        token = granted.json()["access_token"]
        jobs = httpx.get(info["timers_url"] + "jobs/", headers={"Authorization": f"Bearer {token}"})
        holders = httpx.get(
            info["timers_url"] + "jobs/", headers={"Authorization": f"Bearer {info['token']}"}
        )
    assert granted.status_code == 200
    [job], [holders_job] = jobs.json()["jobs"], holders.json()["jobs"]
    assert sorted([job["job_id"], holders_job["job_id"]]) == sorted(info["timer_ids"])
