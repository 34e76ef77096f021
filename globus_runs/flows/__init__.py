"""Globus Flows: the run operations."""

from ._client import FlowsClient
from ._wait_progress import WaitProgress
from ._waiting import RunCompletions

__all__ = ["FlowsClient", "RunCompletions", "WaitProgress"]
