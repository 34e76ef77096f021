"""Globus Flows: the run operations."""

from ._client import FlowsClient

__all__ = ["FlowsClient"]
