"""Command line: ``python -m globus_runs.testing serve [--port N] [--client ID:SECRET]
[--detach] [--ready-file PATH]`` and ``python -m globus_runs.testing stop FILE``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._fake import DEFAULT_MAX_BODY_SIZE
from ._faults import KINDS
from ._recording import DEFAULT_MAX_RECORDS
from ._serve import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    LOOPBACK,
    parse_client,
    parse_fault,
    serve,
    serve_detached,
    stop_served,
)

_SERVE_DESCRIPTION = """\
Serve emulated Globus Flows, Timers and Auth on loopback until interrupted.

Once listening, print one JSON line: flows_url, timers_url, auth_url, port, a
token valid everywhere (token) and its identity_id, the sample flows (flow_ids,
and flows: what the runs of each do), the sample timers (timer_ids) and the
registered clients (client_ids). The sample flows' runs succeed after 3 s, fail
after 3 s, or go INACTIVE after 2 s and succeed 4 s after being resumed
(emulated seconds: see --speed). A sample timer of the first flow fires at
startup and then hourly, one for the token's identity and one per client.

It runs in the foreground until interrupted. With --detach it runs in the
background instead: the command returns once the server listens, after printing
the JSON line with the server's pid added; save it to a file and stop the server
with `python -m globus_runs.testing stop FILE`. --ready-file PATH also writes the
JSON line (with the pid) to PATH, atomically, once the server listens.
"""

_SERVE_EPILOG = """\
examples:
  python -m globus_runs.testing serve
  python -m globus_runs.testing serve --detach > emulator.json
  python -m globus_runs.testing stop emulator.json
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
    serve_parser.add_argument(
        "--detach",
        action="store_true",
        help="serve in the background: print the JSON line (with the server's pid) once "
        "listening, then return",
    )
    serve_parser.add_argument(
        "--ready-file",
        metavar="PATH",
        help="also write the JSON line (with the pid) to PATH, atomically, once listening",
    )
    stop_parser = commands.add_parser(
        "stop",
        help="stop a server started with serve --detach",
        description="Stop the server whose JSON line (from serve --detach or --ready-file) "
        "is in FILE; return once it no longer listens.",
    )
    stop_parser.add_argument("file", metavar="FILE", help="the saved JSON line")
    return parser, serve_parser


def _serve_arguments(args: argparse.Namespace) -> list[str]:
    """The ``serve`` arguments that start the same server in the foreground."""
    arguments = ["--port", str(args.port), "--host", args.host, "--speed", repr(args.speed)]
    if args.token is not None:
        arguments += ["--token", args.token]
    for spec in args.client:
        arguments += ["--client", spec]
    for spec in args.fault:
        arguments += ["--fault", spec]
    if args.seed is not None:
        arguments += ["--seed", str(args.seed)]
    if args.ready_file is not None:
        arguments += ["--ready-file", args.ready_file]
    arguments += [
        "--header-timeout",
        repr(args.header_timeout),
        "--keep-alive-timeout",
        str(args.keep_alive_timeout),
        "--max-body-size",
        str(args.max_body_size),
        "--max-recorded-requests",
        str(args.max_recorded_requests),
    ]
    return arguments


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and run the chosen command."""
    parser, serve_parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "stop":
        try:
            print(stop_served(args.file))
        except (ValueError, LookupError, TimeoutError) as err:
            sys.exit(f"stop: {err}")
        return
    if not 0 <= args.port <= 65535:
        serve_parser.error(f"--port must be within 0..65535, not {args.port}")
    if args.speed <= 0:
        serve_parser.error(f"--speed must be positive, not {args.speed:g}")
    if args.detach:
        try:
            # Refused here, with this command's usage, rather than by the background server.
            for spec in args.fault:
                parse_fault(spec)
            for spec in args.client:
                parse_client(spec)
        except ValueError as err:
            serve_parser.error(str(err))
        sys.exit(serve_detached(_serve_arguments(args)))
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
            ready_file=args.ready_file,
        )
    except ValueError as err:
        serve_parser.error(str(err))
    except OSError as err:
        # A port already in use, a host that does not resolve...
        serve_parser.error(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}")


if __name__ == "__main__":
    main()
