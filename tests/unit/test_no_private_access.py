"""The library reads no private name of another library: none through a module
(``asyncio._get_running_loop``) and none by ``getattr`` (``getattr(client, "_transport")``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import globus_runs

PACKAGE = Path(globus_runs.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _foreign_modules(tree: ast.Module) -> set[str]:
    """Names bound to modules of other libraries by ``import x`` / ``import x as y``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not alias.name.startswith("globus_runs"):
                    names.add(alias.asname or alias.name.partition(".")[0])
    return names


def private_reads(source: str) -> list[str]:
    tree = ast.parse(source)
    modules = _foreign_modules(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in modules:
                found.append(ast.unparse(node))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
        ):
            found.append(ast.unparse(node))
    return found


def test_the_scan_finds_what_it_looks_for() -> None:
    source = (
        "import asyncio\nimport trio as t\n"
        "asyncio._get_running_loop()\nt.lowlevel._x\ngetattr(c, '_transport')\n"
        "self._own\nasyncio.get_running_loop()\n"
    )
    assert sorted(private_reads(source)) == [
        "asyncio._get_running_loop",
        "getattr(c, '_transport')",
        "t.lowlevel._x",
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_private_name_of_another_library_is_read(path: Path) -> None:
    assert private_reads(path.read_text()) == []
