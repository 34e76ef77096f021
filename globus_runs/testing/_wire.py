"""Wire formats shared by the emulated services: datetimes and principal URNs."""

from __future__ import annotations

from datetime import UTC, datetime

IDENTITY_URN_PREFIX = "urn:globus:auth:identity:"
GROUP_URN_PREFIX = "urn:globus:groups:id:"


def format_time(moment: datetime) -> str:
    """ISO 8601 with offset and microseconds, as the Globus services send it."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    """Parse an ISO 8601 datetime; one without an offset is taken as UTC.

    Raises `ValueError` for anything else.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def identity_urn(identity: str) -> str:
    """The principal URN of an identity id (an URN is returned unchanged)."""
    if identity.startswith("urn:"):
        return identity
    return IDENTITY_URN_PREFIX + identity


def is_principal_urn(value: object) -> bool:
    """Whether ``value`` names an identity or a group the way Flows expects."""
    return isinstance(value, str) and value.startswith((IDENTITY_URN_PREFIX, GROUP_URN_PREFIX))
