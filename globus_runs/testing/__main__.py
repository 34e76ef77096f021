"""Command line: ``python -m globus_runs.testing serve [--port N] [--client ID:SECRET]``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ._fake import DEFAULT_MAX_BODY_SIZE
from ._faults import KINDS
from ._recording import DEFAULT_MAX_RECORDS
from ._serve import DEFAULT_HEADER_TIMEOUT, DEFAULT_KEEP_ALIVE_TIMEOUT, LOOPBACK, serve

_SERVE_DESCRIPTION = """\
Serve emulated Globus Flows, Timers and Auth on loopback until interrupted.

Once listening, print one JSON line: flows_url, timers_url, auth_url, port, a
token valid everywhere (token) and its identity_id, the sample flows (flow_ids,
and flows: what the runs of each do), the sample timers (timer_ids) and the
registered clients (client_ids). The sample flows' runs succeed after 3 s, fail
after 3 s, or go INACTIVE after 2 s and succeed 4 s after being resumed
(emulated seconds: see --speed). A sample timer of the first flow fires at
startup and then hourly, one for the token's identity and one per client.
"""

_SERVE_EPILOG = """\
examples:
  python -m globus_runs.testing serve
  python -m globus_runs.testing serve --client 8f8a1e4c-4c5c-4d1e-9d5c-2a7e1d2b3c4d:my-secret
  python -m globus_runs.testing serve --port 8000 --speed 60
  python -m globus_runs.testing serve --speed 60 --fault 503:0.1:/flows/runs/*

Point globus-sdk at it with GLOBUS_SDK_SERVICE_URL_FLOWS=<flows_url>,
GLOBUS_SDK_SERVICE_URL_TIMER=<timers_url> and GLOBUS_SDK_SERVICE_URL_AUTH=<auth_url>
(globus-cli reads the same variables, and GLOBUS_CLI_CLIENT_ID and
GLOBUS_CLI_CLIENT_SECRET for a client given with --client).
"""


def _parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser(
        prog="python -m globus_runs.testing",
        description="Emulated Globus services for tests and demos.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser(
        "serve",
        help="serve the emulator on loopback",
        description=_SERVE_DESCRIPTION,
        epilog=_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve_parser.add_argument(
        "--port", type=int, default=0, help="the port to listen on (default: a free one)"
    )
    serve_parser.add_argument("--host", default=LOOPBACK, help="a loopback address")
    serve_parser.add_argument("--token", help="the token to accept (default: random)")
    serve_parser.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="ID:SECRET",
        help="register a confidential client (ID: a UUID) for the client-credentials "
        "grant (repeatable)",
    )
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
    limits = serve_parser.add_argument_group("limits")
    limits.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT,
        metavar="SECONDS",
        help="close a connection whose request head is not complete in time (default: %(default)g)",
    )
    limits.add_argument(
        "--keep-alive-timeout",
        type=int,
        default=DEFAULT_KEEP_ALIVE_TIMEOUT,
        metavar="SECONDS",
        help="close a connection idle this long after a response (default: %(default)d)",
    )
    limits.add_argument(
        "--max-body-size",
        type=int,
        default=DEFAULT_MAX_BODY_SIZE,
        metavar="BYTES",
        help="answer larger request bodies with 413 (default: %(default)d)",
    )
    limits.add_argument(
        "--max-recorded-requests",
        type=int,
        default=DEFAULT_MAX_RECORDS,
        metavar="N",
        help="keep only the latest N requests in the record (default: %(default)d)",
    )
    return parser, serve_parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and run the chosen command."""
    parser, serve_parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        serve_parser.error(f"--port must be within 0..65535, not {args.port}")
    if args.speed <= 0:
        serve_parser.error(f"--speed must be positive, not {args.speed:g}")
    try:
        serve(
            port=args.port,
            host=args.host,
            token=args.token,
            speed=args.speed,
            faults=args.fault,
            seed=args.seed,
            clients=args.client,
            header_timeout=args.header_timeout,
            keep_alive_timeout=args.keep_alive_timeout,
            max_body_size=args.max_body_size,
            max_recorded_requests=args.max_recorded_requests,
        )
    except ValueError as err:
        serve_parser.error(str(err))
    except OSError as err:
        # A port already in use, a host that does not resolve...
        serve_parser.error(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}")


if __name__ == "__main__":
    main()
