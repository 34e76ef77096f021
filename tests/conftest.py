"""Fixtures shared by every test: both anyio backends, production-shaped payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

PAYLOADS = Path(__file__).resolve().parent / "payloads"


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {}), id="asyncio"),
        pytest.param(("trio", {}), id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    """Run every ``@pytest.mark.anyio`` test on asyncio and on trio."""
    return request.param


class Payloads:
    """Production-shaped response bodies (``tests/payloads``, copied from ``shared/payloads``)."""

    def json(self, name: str) -> Any:
        return json.loads(self.text(name))

    def text(self, name: str) -> str:
        return (PAYLOADS / f"{name}.json").read_text()


@pytest.fixture
def payloads() -> Payloads:
    """Load a production-shaped payload by name: ``payloads.json("flows_run_succeeded")``."""
    return Payloads()
