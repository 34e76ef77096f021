"""Where the examples find Globus: a served emulator, or the environment.

With ``--emulator``, the examples use the line ``python -m globus_runs.testing serve``
prints on startup (or a file holding it)::

    python -m globus_runs.testing serve --port 8000 > emulator.json &
    python -m examples.batch_driver --emulator emulator.json

Without it they read ``GLOBUS_RUNS_TOKEN`` and, optionally, ``GLOBUS_RUNS_FLOWS_URL`` and
``GLOBUS_RUNS_TIMERS_URL`` (the production services by default), like the command line.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from globus_runs import FlowsClient, RetryPolicy, TimersClient

__all__ = ["Connection", "add_connection_arguments"]


@dataclass(frozen=True)
class Connection:
    """The services' URLs, a token, and the emulator's sample flows (when there is one)."""

    token: str = field(repr=False)
    flows_url: str | None = None
    timers_url: str | None = None
    flow_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_emulator(cls, line_or_path: str) -> Connection:
        """From the emulator's startup line, or a file holding it."""
        text = line_or_path
        if not text.lstrip().startswith("{"):
            text = Path(text).read_text().splitlines()[0]
        info = json.loads(text)
        return cls(info["token"], info["flows_url"], info["timers_url"], info["flow_ids"])

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Connection:
        """From ``--emulator``, or else from the environment."""
        if args.emulator:
            return cls.from_emulator(args.emulator)
        token = os.environ.get("GLOBUS_RUNS_TOKEN")
        if not token:
            raise SystemExit("give --emulator, or set GLOBUS_RUNS_TOKEN")
        return cls(
            token,
            os.environ.get("GLOBUS_RUNS_FLOWS_URL") or None,
            os.environ.get("GLOBUS_RUNS_TIMERS_URL") or None,
        )

    def flow_id(self, chosen: str | None) -> str:
        """``chosen``, or else the emulator's first sample flow (whose runs succeed)."""
        if chosen:
            return chosen
        if not self.flow_ids:
            raise SystemExit("give --flow-id")
        return self.flow_ids[0]

    def flows(self, *, concurrency: int = 10, retry: RetryPolicy | None = None) -> FlowsClient:
        """A Flows client; close it with ``async with``."""
        return FlowsClient(
            authorizer=self.token, base_url=self.flows_url, concurrency=concurrency, retry=retry
        )

    def timers(self) -> TimersClient:
        """A Timers client (its ``run_timer`` starts runs through the same Flows)."""
        return TimersClient(
            authorizer=self.token, base_url=self.timers_url, flows_base_url=self.flows_url
        )


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--emulator`` and ``--flow-id``."""
    parser.add_argument(
        "--emulator",
        metavar="JSON",
        help="the startup line of `python -m globus_runs.testing serve`, or a file holding it",
    )
    parser.add_argument("--flow-id", help="the flow to run (default: the emulator's first)")
