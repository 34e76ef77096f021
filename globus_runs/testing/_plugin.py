"""A pytest plugin offering the emulator as the ``fake_globus`` fixture.

Imports of the emulator happen inside the fixture, so merely having the
plugin installed costs nothing and needs no optional dependency.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from globus_runs.testing import FakeGlobus


@pytest.fixture
def fake_globus() -> FakeGlobus:
    """A fresh `FakeGlobus` with a manual clock, for one test."""
    from globus_runs.testing import FakeGlobus

    return FakeGlobus()
