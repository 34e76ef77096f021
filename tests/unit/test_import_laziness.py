"""``import globus_runs`` loads what a Flows client needs and nothing else: the emulator, the
CLI, Timers and its models, the OAuth authorizers, run summaries, the events of ``watch_run``,
the consent and web-input models, cattrs, trio, OpenTelemetry, the proxy and connection-pool
modules load when first used (``benchmarks/bench_import.py`` measures the time)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest

import globus_runs
import globus_runs._models

LAZY = [
    "cattrs",
    "trio",
    "anyio.abc",
    "anyio.lowlevel",
    "opentelemetry",
    "starlette",
    "uvicorn",
    "globus_runs.testing",
    "globus_runs.cli",
    "globus_runs.timers",
    "globus_runs._oauth",
    "globus_runs._summary",
    "globus_runs._http.proxies",
    "globus_runs._http.pool",
    "globus_runs._web_input_models",
    "globus_runs._timer_models",
    "globus_runs._consent",
    "globus_runs._events",
    "ctypes",  # with the first run read from the service
]


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_importing_the_package_loads_none_of_the_lazy_modules() -> None:
    loaded = set(_loaded_after("import globus_runs"))
    assert "globus_runs.flows" in loaded
    assert [name for name in LAZY if name in loaded] == []


def test_a_lazy_name_loads_its_module_on_first_use() -> None:
    loaded = set(_loaded_after("import globus_runs\nglobus_runs.TimersClient"))
    assert "globus_runs.timers" in loaded


def test_a_model_loads_its_module_on_first_use() -> None:
    loaded = set(_loaded_after("import globus_runs\nglobus_runs.WebInputPage"))
    assert "globus_runs._web_input_models" in loaded
    loaded = set(_loaded_after("import globus_runs\nglobus_runs.TimerRun"))
    assert "globus_runs._timer_models" in loaded
    loaded = set(_loaded_after("import globus_runs\nglobus_runs.group_by_consent"))
    assert "globus_runs._consent" in loaded
    loaded = set(_loaded_after("import globus_runs\nglobus_runs.RunStatusEvent"))
    assert "globus_runs._events" in loaded


def test_every_public_name_resolves_and_is_listed() -> None:
    for name in globus_runs.__all__:
        assert getattr(globus_runs, name) is not None
    assert set(globus_runs.__all__) <= set(dir(globus_runs))


def test_a_pickle_naming_a_model_where_it_used_to_live_still_loads() -> None:
    # Protocol 2 names a class as "module\nname\n"; earlier versions defined these models in
    # globus_runs._models.
    timer_run = globus_runs.TimerRun(id="abc", timer_id="t", status="ok")
    event = globus_runs.RunStatusEvent(run=_a_run(), previous=None)
    for value, module in ((timer_run, b"_timer_models"), (event, b"_events")):
        old = pickle.dumps(value, protocol=2).replace(
            b"globus_runs." + module, b"globus_runs._models"
        )
        assert b"globus_runs._models\n" in old
        again = pickle.loads(old)
        assert again == value
        assert type(again) is type(value)
    with pytest.raises(AttributeError, match="NoSuchModel"):
        globus_runs._models.NoSuchModel  # noqa: B018


def _a_run() -> globus_runs.Run:
    return globus_runs.Run(run_id="r", flow_id="f", status="ACTIVE")
