"""No function of the network core is above cyclomatic complexity 15.

Counted from the syntax tree the way radon counts it: 1, plus one for each ``if``/``elif``,
conditional expression, loop, ``except``, ``with``, ``assert``, comprehension (and each of
its ``if`` clauses), ``match`` case, and each extra operand of ``and``/``or``. A nested
function is counted on its own, not in the function around it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import globus_runs

PACKAGE = Path(globus_runs.__file__).parent
CORE = [
    "_auth.py",
    "_body.py",
    "_errors.py",
    "_json.py",
    "_oauth.py",
    "_retry.py",
    "_telemetry.py",
    "_wire.py",
    "flows/_starts.py",
    *sorted(f"_http/{path.name}" for path in (PACKAGE / "_http").glob("*.py")),
]
LIMIT = 15

_BRANCHES = (
    ast.If,
    ast.IfExp,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ExceptHandler,
    ast.With,
    ast.AsyncWith,
    ast.Assert,
    ast.match_case,
)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _own_nodes(function: ast.AST) -> list[ast.AST]:
    """The nodes of ``function``'s body, without those of functions defined inside it."""
    found: list[ast.AST] = []
    pending = list(ast.iter_child_nodes(function))
    while pending:
        node = pending.pop()
        if isinstance(node, _FUNCTIONS):
            continue
        found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return found


def complexity(function: ast.AST) -> int:
    count = 1
    for node in _own_nodes(function):
        if isinstance(node, _BRANCHES):
            count += 1
        elif isinstance(node, ast.comprehension):
            count += 1 + len(node.ifs)
        elif isinstance(node, ast.BoolOp):
            count += len(node.values) - 1
    return count


def functions_over(source: str, limit: int) -> list[tuple[str, int]]:
    """Name (qualified by its class) and complexity of each function above ``limit``."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                score = complexity(child)
                if score > limit:
                    found.append((f"{prefix}{child.name}", score))
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(source), "")
    return found


def test_the_count_follows_the_branches() -> None:
    source = (
        "def f(a, b):\n"
        "    if a and b or a:\n"  # 1 + 2
        "        pass\n"
        "    elif b:\n"  # 1
        "        pass\n"
        "    for x in [y for y in a if y]:\n"  # 1 + 2
        "        while x:\n"  # 1
        "            x = 1 if a else 2\n"  # 1
        "    try:\n"
        "        pass\n"
        "    except ValueError:\n"  # 1
        "        pass\n"
        "    def inner():\n"  # counted on its own
        "        if a:\n"
        "            pass\n"
    )
    tree = ast.parse(source)
    outer = tree.body[0]
    assert complexity(outer) == 1 + 3 + 1 + 3 + 1 + 1 + 1
    assert functions_over(source, 10) == [("f", 11)]
    assert functions_over(source, 11) == []


@pytest.mark.parametrize("name", CORE)
def test_no_function_of_the_core_is_above_the_limit(name: str) -> None:
    assert functions_over((PACKAGE / name).read_text(), LIMIT) == []
