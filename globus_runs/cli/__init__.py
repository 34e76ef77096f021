"""The ``globus-runs`` command line. It needs the ``cli`` extra (click and rich):
``pip install ".[cli]"`` from a checkout (the package is not on a package index yet).

Importing this package needs neither; `main` reports their absence in one line.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_CLI_PACKAGES = frozenset({"click", "rich"})


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``globus-runs`` command with ``argv`` (default: the process's arguments)."""
    try:
        from ._app import cli
    except ImportError as error:
        if (error.name or "").split(".")[0] not in _CLI_PACKAGES:
            raise
        sys.exit(
            "globus-runs: the command line needs the 'cli' extra: "
            'from a checkout, pip install ".[cli]"'
        )
    cli.main(args=list(argv) if argv is not None else None, prog_name="globus-runs")
