"""Where the tests find globus-cli, and the environment they run it in.

globus-cli pins its own globus-sdk and click, so it is not a test dependency: the nox
``tests`` session installs it in a virtual environment of its own and names its ``globus``
executable in ``GLOBUS_RUNS_TEST_GLOBUS_CLI``. With ``GLOBUS_RUNS_TEST_REQUIRE_GLOBUS_CLI=1``
(set by that session) a test that needs the executable fails when it is not there; otherwise
it is skipped, saying how to run it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

VARIABLE = "GLOBUS_RUNS_TEST_GLOBUS_CLI"
REQUIRED = "GLOBUS_RUNS_TEST_REQUIRE_GLOBUS_CLI"
# A proxy nobody listens on: a request for any host but loopback fails instead of leaving.
NOWHERE = "http://127.0.0.1:9"


def globus_executable() -> Path:
    """The ``globus`` executable named by the environment; skips (or fails, when required)
    the calling test without one."""
    named = os.environ.get(VARIABLE, "")
    path = Path(named) if named else None
    if path is not None and path.is_file() and os.access(path, os.X_OK):
        return path
    why = (
        f"{VARIABLE}={named!r} is not an executable file"
        if named
        else f"needs globus-cli: set {VARIABLE} to its globus executable (nox -s tests does)"
    )
    if os.environ.get(REQUIRED) == "1":
        pytest.fail(f"{why}, and {REQUIRED}=1 says these tests must run")
    pytest.skip(why)


def isolated_environment(home: Path) -> dict[str, str]:
    """An environment holding nothing of the machine's Globus configuration: ``home`` as the
    home and XDG folders (globus-cli keeps its tokens there), no ``GLOBUS_*`` variable, and
    every request for a host other than loopback sent to a proxy that is not there."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GLOBUS_")
        and name.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        and not name.startswith("XDG_")
    }
    env["HOME"] = str(home)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[name] = str(home / name.lower())
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        env[name] = NOWHERE
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env
