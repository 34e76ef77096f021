"""The code examples of the documentation, found as a reader finds them.

Markdown: every fenced block of ``README.md`` and ``docs/guides/*.md``. Its language is the
first word after the opening fence; a block without one is an error (the tests say which),
so no code hides as "not code". An HTML comment on the line before the fence may say how
the tests treat it:

- ``<!-- docs-test: not run: REASON -->``: not run; the tests list it with REASON;
- ``<!-- docs-test: needs globus-cli -->``: run with the ``globus`` executable named in
  ``GLOBUS_RUNS_TEST_GLOBUS_CLI`` (globus-cli is not a test dependency: the nox ``tests``
  session installs it apart and sets the variable), listed as not run otherwise (a failure
  when ``GLOBUS_RUNS_TEST_REQUIRE_GLOBUS_CLI=1``);
- ``<!-- docs-test: excerpt of PATH -->``: a part of the file PATH (run by its own tests),
  checked to appear there word for word;
- ``<!-- docs-test: against the served emulator -->``: a shell block run in a folder and an
  environment the test prepares (see ``test_examples``), instead of starting its own server.

Docstrings: every ``Example::`` literal block and every ``>>>`` session in a docstring of
the ``globus_runs`` package.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = ("python", "sh")  # run by the tests
DATA = ("text", "json")  # shown, not run: command synopses, outputs, file contents

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r"^<!-- docs-test: (?P<what>.+?) -->$")


@dataclass(frozen=True)
class Block:
    """A fenced block of a markdown file."""

    path: str  # relative to the checkout
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    marker: str | None  # what the ``docs-test`` comment before it says

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs" / "guides").glob("*.md"))]


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    number = 0
    while number < len(lines):
        opening = _FENCE.match(lines[number])
        if opening is None:
            number += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        body: list[str] = []
        end = number + 1
        while end < len(lines) and not re.match(
            rf"^ {{0,{indent + 3}}}{fence[0]}{{{len(fence)},}}\s*$", lines[end]
        ):
            body.append(lines[end][indent:] if lines[end][:indent].isspace() else lines[end])
            end += 1
        if end == len(lines):
            raise ValueError(f"{path}:{number + 1}: a fenced block that is never closed")
        previous = number - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        marker = _MARKER.match(lines[previous].strip()) if previous >= 0 else None
        blocks.append(
            Block(
                path=path.relative_to(ROOT).as_posix(),
                line=number + 1,
                language=(opening["info"].split() or [""])[0],
                code="\n".join(body) + "\n",
                marker=marker["what"] if marker else None,
            )
        )
        number = end + 1
    return blocks


def all_blocks() -> list[Block]:
    return [block for path in markdown_files() for block in fenced_blocks(path)]


@dataclass(frozen=True)
class DocstringExample:
    """An ``Example::`` block, or the ``>>>`` session, of one docstring."""

    module: str  # globus_runs.flows._client
    owner: str  # the qualified name of what the docstring documents (FlowsClient.run_flow)
    line: int  # of the definition
    code: str
    doctest: bool  # a ``>>>`` session (run with doctest), else an ``Example::`` block

    @property
    def id(self) -> str:
        return f"{self.module}:{self.owner}"


_EXAMPLE = re.compile(r"Example::\n\n((?:[ \t]+\S.*\n|[ \t]*\n)+)")


def docstring_examples() -> list[DocstringExample]:
    """Every example in a docstring of the package, in file order."""
    found: list[DocstringExample] = []
    for path in sorted((ROOT / "globus_runs").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for owner, node in _documented(tree):
            doc = ast.get_docstring(node, clean=True)
            if not doc:
                continue
            line = getattr(node, "lineno", 1)
            for match in _EXAMPLE.finditer(doc + "\n"):
                code = textwrap.dedent(match.group(1)).strip() + "\n"
                found.append(DocstringExample(module, owner, line, code, doctest=False))
            if ">>>" in doc:
                found.append(DocstringExample(module, owner, line, doc, doctest=True))
    return found


_Documented = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef


def _documented(tree: ast.Module) -> list[tuple[str, _Documented]]:
    """The module and each class and function in it, with qualified names."""
    found: list[tuple[str, _Documented]] = [("<module>", tree)]

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                found.append((name, child))
                visit(child, f"{name}.")

    visit(tree, "")
    return found
