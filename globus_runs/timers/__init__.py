"""Globus Timers: a timer's runs and its lifecycle."""

from ._client import TimersClient

__all__ = ["TimersClient"]
