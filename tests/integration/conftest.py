"""The emulator served over real loopback sockets by ``python -m globus_runs.testing serve``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from globus_runs.testing import serve_in_subprocess


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, Any]]:
    """The server's startup line; its clock runs 20 times faster than real time."""
    with serve_in_subprocess(speed=20.0) as info:
        yield info
