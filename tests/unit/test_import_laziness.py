"""``import globus_runs`` loads what a Flows client needs and nothing else: the emulator, the
CLI, Timers and its models, the OAuth authorizers, run summaries, the events of ``watch_run``,
the consent and web-input models, cattrs, trio, OpenTelemetry, the proxy and connection-pool
modules load when first used (``benchmarks/bench_import.py`` measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys

import globus_runs

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
