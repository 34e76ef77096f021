"""Command line: ``python -m globus_runs.testing serve --port N``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ._faults import KINDS
from ._serve import LOOPBACK, serve


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(
        prog="python -m globus_runs.testing",
        description="Emulated Globus services for tests and demos.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser(
        "serve",
        help="serve the emulator on loopback",
        description="Serve the emulator with sample flows; print one JSON line "
        "with its URLs, a token and the flow ids once listening.",
    )
    serve_parser.add_argument("--port", type=int, required=True, help="0: any free port")
    serve_parser.add_argument("--host", default=LOOPBACK, help="a loopback address")
    serve_parser.add_argument("--token", help="the token to accept (default: random)")
    serve_parser.add_argument(
        "--speed", type=float, default=1.0, help="emulated seconds per real second"
    )
    serve_parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:PROBABILITY[:ROUTE]]",
        help=f"inject a fault (repeatable), e.g. 503:0.1 or 429:0.05:/flows/runs/*; "
        f"kinds: {', '.join(KINDS)}",
    )
    serve_parser.add_argument("--seed", type=int, help="seed of the fault generator")
    args = parser.parse_args(argv)
    try:
        serve(
            port=args.port,
            host=args.host,
            token=args.token,
            speed=args.speed,
            faults=args.fault,
            seed=args.seed,
        )
    except ValueError as err:
        parser.error(str(err))


if __name__ == "__main__":
    main()
