"""Globus Flows: the run operations."""

from ._client import FlowsClient
from ._wait_progress import WaitProgress

__all__ = ["FlowsClient", "WaitProgress"]
