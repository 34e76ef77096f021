"""The ``globus-runs`` command: its groups, and the help that explains its settings."""

from __future__ import annotations

import click

from .._version import __version__
from ._batch import batch
from ._demo import demo
from ._fleet import rerun, summary, tag
from ._inputs import batch_resume, inputs
from ._options import root_format_option
from ._runs import runs
from ._start import start_run
from ._timers import timers

__all__ = ["cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="globus-runs")
@root_format_option
def cli() -> None:
    """Work with Globus flow runs and timers from the shell.

    Credentials come from the environment: GLOBUS_RUNS_TOKEN (a bearer token), or
    GLOBUS_RUNS_CLIENT_ID and GLOBUS_RUNS_CLIENT_SECRET (a confidential client; scopes
    from GLOBUS_RUNS_SCOPES, by default Flows' "all" scope and the Timers scope).
    GLOBUS_RUNS_FLOWS_URL, GLOBUS_RUNS_TIMERS_URL and GLOBUS_RUNS_AUTH_URL override the
    services' URLs; GLOBUS_RUNS_ENVIRONMENT picks a Globus environment (e.g. sandbox).

    Every command takes --format text|json (also given before the command, or by
    GLOBUS_RUNS_FORMAT). Exit status: 0 success, 1 error, 2 bad usage, 3 a run did not
    succeed or an item of a batch failed, 4 a wait timed out, 130 interrupted.
    """


cli.add_command(runs)
cli.add_command(batch)
cli.add_command(timers)
cli.add_command(demo)
runs.add_command(start_run)
runs.add_command(inputs)
batch.add_command(batch_resume)
batch.add_command(tag)
batch.add_command(rerun)
runs.add_command(summary)
