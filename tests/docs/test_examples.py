"""Every example of the documentation, run: the Python and shell blocks of ``README.md`` and
``docs/guides/*.md`` and the examples in the package's docstrings.

How each kind runs (``_blocks`` says how blocks are found and marked, ``_world`` what they
run against and every substitution made):

- a Python block or docstring example is run in a namespace holding every public name of
  ``globus_runs`` and ``globus_runs.testing`` and the names the documentation takes as given
  (``flows``, ``flow_id``, ``run_id``...), bound to a served emulator. Top-level ``await``
  is allowed (as in ``python -m asyncio``); a block without it runs in a thread of its own,
  so its ``anyio.run(...)`` starts its own event loop. Each ``async def`` a block defines
  without calling it is then called, its arguments taken by name from the namespace, and a
  FastAPI ``app`` it defines is started and asked each of its ``GET`` routes;
- a ``>>>`` session is run by ``doctest``;
- a shell block is run by ``bash -euo pipefail`` in an empty folder, with ``python``,
  ``globus-runs`` and this checkout first on the paths; a server it leaves running is
  stopped after it. A block marked ``against the served emulator`` is given one: the
  ``GLOBUS_RUNS_*`` variables, ``$FLOW`` (a flow whose runs succeed), files ``input.json``,
  ``inputs.jsonl`` and ``results.jsonl`` (10 runs started), and ``RUN_ID`` replaced with the
  id of one of those runs.

The counts of what ran are printed at the end of the session (``summary.py``).
"""

from __future__ import annotations

import ast
import doctest
import inspect
import json
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest

import globus_runs
import globus_runs.testing
from globus_runs.testing import FakeClock, FakeGlobus, serve_in_thread
from globus_runs.testing.__main__ import main as emulator_main

from ..official._globus_cli import globus_executable, isolated_environment
from ._blocks import CODE, DATA, ROOT, Block, DocstringExample, all_blocks, docstring_examples
from ._world import NOWHERE, SPEED, given_for, served_world

BLOCKS = all_blocks()
EXAMPLES = docstring_examples()
# Generous: a loaded machine; the blocks wait on runs, never on time.
BOUND = 300


def _params(blocks: list[Block], language: str, readme: bool) -> list[Any]:
    return [
        pytest.param(block, id=block.id)
        for block in blocks
        if block.language == language and (block.path == "README.md") == readme
    ]


# -- what each block is --------------------------------------------------------------------


def test_every_block_says_what_it_is() -> None:
    """A language on every fence, and only the markers the tests know."""
    unnamed = [block.id for block in BLOCKS if block.language not in CODE + DATA]
    assert unnamed == [], f"blocks of no known language (one of {CODE + DATA}): {unnamed}"
    known = re.compile(r"not run: .+|needs globus-cli|excerpt of \S+|against the served emulator")
    odd = [
        (block.id, block.marker)
        for block in BLOCKS
        if block.marker and not known.fullmatch(block.marker)
    ]
    assert odd == []


def test_no_shell_block_can_race_the_emulator_or_leave_a_variable_empty() -> None:
    """A block that serves the emulator and reads its line starts it with ``--detach``; one
    that sets a ``GLOBUS_*`` variable from that line stops at the first failure."""
    shell = [block for block in BLOCKS if block.language == "sh"]
    racing = [
        block.id
        for block in shell
        if re.search(r"globus_runs\.testing serve(?![^\n]*--detach)", block.code)
    ]
    assert racing == []
    reading = [
        block for block in shell if re.search(r"^(export )?GLOBUS_\w+=\$\(", block.code, re.M)
    ]
    assert reading, "no block reads the emulator's startup line any more"
    unguarded = [block.id for block in reading if not block.code.startswith("set -eu\n")]
    assert unguarded == []


def _not_run(block: Block) -> None:
    """Skip, saying why, a block the documentation marks as not run."""
    if block.marker is None:
        return
    if block.marker.startswith("not run: "):
        pytest.skip(f"{block.id}: {block.marker}")
    if block.marker.startswith("excerpt of "):
        source = (ROOT / block.marker.removeprefix("excerpt of ")).read_text(encoding="utf-8")
        assert block.code in source, f"{block.id} is not a part of {block.marker}"
        pytest.skip(f"{block.id}: an {block.marker}, found there word for word")


# -- Python ----------------------------------------------------------------------------------


async def _run_python(code: str, name: str, namespace: dict[str, Any]) -> None:
    # An example that never ends fails, after a bound no example comes near.
    with anyio.fail_after(BOUND):
        await _run_python_unbounded(code, name, namespace)


async def _run_python_unbounded(code: str, name: str, namespace: dict[str, Any]) -> None:
    compiled = compile(code, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if compiled.co_flags & inspect.CO_COROUTINE:
        await eval(compiled, namespace)
    else:
        # Abandoned, not awaited, when the bound passes: a hung block fails its test.
        await anyio.to_thread.run_sync(exec, compiled, namespace, abandon_on_cancel=True)
    if "anyio.run(" not in code:
        for function in _defined_coroutine_functions(code, namespace):
            await _call_by_name(function, namespace)
    app = namespace.get("app")
    if type(app).__name__ == "FastAPI":
        await _ask_each_get_route(app, namespace)


def _defined_coroutine_functions(
    code: str, namespace: dict[str, Any]
) -> list[Callable[..., Awaitable[Any]]]:
    """The ``async def`` functions ``code`` defines and does not use itself (a callback it
    hands on, such as ``on_refresh=save``, is used)."""
    tree = ast.parse(code)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names = [
        node.name
        for node in tree.body
        if isinstance(node, ast.AsyncFunctionDef) and node.name not in used
    ]
    return [namespace[name] for name in names if inspect.iscoroutinefunction(namespace[name])]


async def _call_by_name(function: Callable[..., Awaitable[Any]], namespace: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.name in namespace:
            arguments[parameter.name] = namespace[parameter.name]
        else:
            assert parameter.default is not parameter.empty, (
                f"{function.__name__}: nothing given for {parameter.name!r}"
            )
    await function(**arguments)


async def _ask_each_get_route(app: Any, namespace: dict[str, Any]) -> None:
    """Start ``app`` (its lifespan) and ask each of its GET routes, with the token."""
    headers = {"Authorization": f"Bearer {namespace['token']}"}
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://app") as client,
    ):
        for route in app.routes:
            if "GET" in getattr(route, "methods", ()) and not route.path.startswith(
                ("/docs", "/openapi", "/redoc")
            ):
                response = await client.get(route.path.format(**namespace), headers=headers)
                assert response.status_code == 200, (route.path, response.text)


async def _close(namespace: dict[str, Any], before: dict[str, Any]) -> None:
    """Close what an example opened and left open (clients, authorizers)."""
    for name, value in namespace.items():
        if before.get(name) is not value and hasattr(value, "aclose"):
            await value.aclose()


async def _run_block(block: Block, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _not_run(block)
    monkeypatch.chdir(tmp_path)
    async with served_world(monkeypatch, tmp_path) as namespace:
        code = block.code.replace('"TOKEN"', repr(namespace["token"]))
        code = code.replace('"FLOW-ID"', repr(namespace["flow_id"]))
        before = dict(namespace)
        try:
            await _run_python(code, block.id, namespace)
        finally:
            await _close(namespace, before)


@pytest.mark.anyio
@pytest.mark.parametrize("block", _params(BLOCKS, "python", readme=True))
async def test_readme_python_block(
    block: Block, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await _run_block(block, monkeypatch, tmp_path)


@pytest.mark.anyio
@pytest.mark.parametrize("block", _params(BLOCKS, "python", readme=False))
async def test_guide_python_block(
    block: Block, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await _run_block(block, monkeypatch, tmp_path)


# -- shell -----------------------------------------------------------------------------------


def _shell_environment(tmp_path: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GLOBUS_")
        and name.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["HOME"] = str(tmp_path)
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        env[name] = NOWHERE
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def _put_globus_first(globus: Path, tmp_path: Path, env: dict[str, str]) -> None:
    """``globus`` found first on the block's path, alone: its folder would bring its own
    ``python`` too; and its configuration and tokens kept in ``tmp_path``."""
    folder = tmp_path / "globus-cli-bin"
    folder.mkdir()
    (folder / "globus").symlink_to(globus)
    home = Path(env["HOME"])
    env.update(
        {name: value for name, value in isolated_environment(home).items() if "XDG_" in name}
    )
    env["PATH"] = os.pathsep.join([str(folder), env["PATH"]])


def _stop_leftovers(folder: Path) -> None:
    for path in folder.glob("*.json"):
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(info, dict) and "pid" in info and "port" in info:
            with suppress(SystemExit):  # already stopped
                emulator_main(["stop", str(path)])


def _bash(code: str, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", code],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=BOUND,
            check=False,
        )
    finally:
        _stop_leftovers(folder)


def _run_shell(block: Block, tmp_path: Path) -> None:
    _not_run(block)
    env = _shell_environment(tmp_path)
    if block.marker == "needs globus-cli":
        _put_globus_first(globus_executable(), tmp_path, env)
    if block.marker != "against the served emulator":
        done = _bash(block.code, tmp_path, env)
        assert done.returncode == 0, f"{block.id}\n{done.stdout}\n{done.stderr}"
        return
    fake = FakeGlobus(clock=FakeClock(realtime=True, speed=SPEED))
    flow_id = fake.add_flow(title="Scan", duration=3.0)
    fake.add_timer(flow_id, {}, schedule={"type": "recurring", "interval_seconds": 3600})
    with serve_in_thread(fake) as info:
        env.update(
            GLOBUS_RUNS_FLOWS_URL=info["flows_url"],
            GLOBUS_RUNS_TIMERS_URL=info["timers_url"],
            GLOBUS_RUNS_AUTH_URL=info["auth_url"],
            GLOBUS_RUNS_TOKEN=info["token"],
            FLOW=flow_id,
        )
        (tmp_path / "input.json").write_text('{"path": "/data/scan-42"}\n')
        (tmp_path / "inputs.jsonl").write_text(
            "".join(f'{{"body": {{"n": {n}}}, "label": "scan {n}"}}\n' for n in range(10))
        )
        given = _bash(
            'globus-runs batch start "$FLOW" inputs.jsonl -o results.jsonl', tmp_path, env
        )
        assert given.returncode == 0, given.stderr
        records = map(json.loads, (tmp_path / "results.jsonl").read_text().splitlines())
        run_id = next(record["run_id"] for record in records if "run_id" in record)
        code = re.sub(r"\bRUN_ID(\.\.\.)?", run_id, block.code)
        done = _bash(code, tmp_path, env)
    assert done.returncode == 0, f"{block.id}\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("block", _params(BLOCKS, "sh", readme=True))
def test_readme_shell_block(block: Block, tmp_path: Path) -> None:
    _run_shell(block, tmp_path)


@pytest.mark.parametrize("block", _params(BLOCKS, "sh", readme=False))
def test_guide_shell_block(block: Block, tmp_path: Path) -> None:
    _run_shell(block, tmp_path)


# -- docstrings ------------------------------------------------------------------------------


def _example_params(doctests: bool) -> list[Any]:
    seen: dict[str, int] = {}
    params = []
    for example in EXAMPLES:
        if example.doctest != doctests:
            continue
        seen[example.id] = seen.get(example.id, 0) + 1
        suffix = f"#{seen[example.id]}" if seen[example.id] > 1 else ""
        params.append(pytest.param(example, id=example.id + suffix))
    return params


@pytest.mark.anyio
@pytest.mark.parametrize("example", _example_params(doctests=False))
async def test_docstring_example(
    example: DocstringExample, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    async with served_world(monkeypatch, tmp_path) as namespace:
        given = given_for(example.owner, namespace)
        before = {name: value for name, value in namespace.items() if name not in given}
        namespace.update(given)
        try:
            await _run_python(example.code, example.id, namespace)
        finally:
            await _close(namespace, before)


@pytest.mark.parametrize("example", _example_params(doctests=True))
def test_docstring_doctest(example: DocstringExample) -> None:
    namespace: dict[str, Any] = {name: getattr(globus_runs, name) for name in globus_runs.__all__}
    namespace.update({n: getattr(globus_runs.testing, n) for n in globus_runs.testing.__all__})
    exec("from datetime import UTC, datetime", namespace)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(example.code, namespace, example.id, example.module, example.line)
    assert test.examples, f"{example.id}: no >>> example found"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    outcome = runner.run(test, out=lambda text: print(text, end=""))
    assert outcome.failed == 0, f"{example.id}: {outcome.failed} of {outcome.attempted} failed"
    assert outcome.attempted == len(test.examples)
