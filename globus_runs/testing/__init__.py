"""An in-memory, stateful stand-in for the Globus services, for tests and demos.

>>> from globus_runs.testing import FakeGlobus
>>> fake = FakeGlobus()
>>> flow_id = fake.add_flow(duration=5)

Talk to ``fake.app`` in-process through `asgi_transport` (an httpx transport on which
dropped connections and timeouts look as they do over a socket), or serve it on loopback
with `serve_in_thread`, `serve_in_subprocess` or
``python -m globus_runs.testing serve --port 0``.
"""

from .._http.httpx_sender import asgi_transport
from ._clock import FakeClock
from ._fake import FakeGlobus
from ._faults import Fault, FaultKind, Faults
from ._recording import RecordedRequest, RequestLog
from ._records import FlowBehavior
from ._serve import serve_in_subprocess, serve_in_thread

__all__ = [
    "FakeClock",
    "FakeGlobus",
    "Fault",
    "FaultKind",
    "Faults",
    "FlowBehavior",
    "RecordedRequest",
    "RequestLog",
    "asgi_transport",
    "serve_in_subprocess",
    "serve_in_thread",
]
