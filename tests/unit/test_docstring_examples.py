"""Every public method and function documents itself with a short example."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from types import ModuleType

import pytest

import globus_runs
import globus_runs.testing


def _public_callables(module: ModuleType) -> Iterator[tuple[str, object]]:
    for name in module.__all__:
        exported = getattr(module, name)
        if inspect.isfunction(exported):
            yield f"{module.__name__}.{name}", exported
        if not inspect.isclass(exported):
            continue
        for cls in exported.__mro__:
            if not cls.__module__.startswith("globus_runs"):
                continue
            for attribute, value in vars(cls).items():
                if isinstance(value, staticmethod | classmethod):
                    value = value.__func__
                if not attribute.startswith("_") and inspect.isfunction(value):
                    yield f"{module.__name__}.{name}.{attribute}", value


PUBLIC = dict(
    item for module in (globus_runs, globus_runs.testing) for item in _public_callables(module)
)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_the_docstring_has_an_example(name: str) -> None:
    doc = inspect.getdoc(PUBLIC[name]) or ""
    assert "Example::" in doc or ">>>" in doc, f"{name} has no example in its docstring"
