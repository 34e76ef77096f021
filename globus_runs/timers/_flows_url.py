"""Where Flows is, for a Timers client that was given its own URL but not the Flows one."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .._errors import ConfigurationError
from .._wire import is_loopback

__all__ = ["flows_url_for"]

# Timers' own hosts (production and the other Globus environments) and their Flows twins.
_TIMERS_HOST = re.compile(r"((?:[a-z0-9-]+\.)?)timer\.automate\.globus\.org", re.IGNORECASE)


def flows_url_for(timers_url: str) -> str:
    """The Flows URL that goes with ``timers_url``, where the pair is certain.

    Two layouts are: a Globus Timers host (``https://[ENV.]timer.automate.globus.org``, whose
    Flows is ``https://[ENV.]flows.automate.globus.org``), and a loopback server whose Timers
    path ends in ``/timers`` (the emulator's layout: Flows is ``/flows`` beside it). Any other
    URL raises :class:`ConfigurationError` rather than guessing, so requests meant for a test
    service never reach production Flows with the caller's token.
    """
    parts = urlsplit(timers_url)
    host = parts.hostname or ""
    path = parts.path.rstrip("/")
    production = _TIMERS_HOST.fullmatch(host)
    if production is not None and parts.scheme == "https" and not path and parts.port is None:
        return f"https://{production.group(1)}flows.automate.globus.org"
    if is_loopback(host) and (path == "/timers" or path.endswith("/timers")):
        return f"{parts.scheme}://{parts.netloc}{path[: -len('timers')]}flows"
    raise ConfigurationError(
        f"TimersClient(base_url={timers_url!r}) cannot tell where Flows is for run_timer: "
        "pass flows_base_url= (the Flows URL of that service) or flows= (a FlowsClient)"
    )
