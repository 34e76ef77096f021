"""Errors the emulated services answer with, independent of the web framework."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Detail = str | list[dict[str, Any]]


class ApiError(Exception):
    """An HTTP error answer: status, machine-readable code and detail.

    Raised anywhere in the emulator's logic; the web layer turns it into the
    service's error body (for Flows ``{"error": {"code", "detail"}, "debug_id"}``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: Detail,
        *,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.message = message
        self.headers = dict(headers or {})
        # Top-level fields beside ``error`` (a requirements error's ``code`` and
        # ``authorization_parameters``, say).
        self.extra = dict(extra or {})


def validation_item(loc: Iterable[str | int], msg: str, type_: str) -> dict[str, Any]:
    """One entry of a pydantic-style validation detail list."""
    return {"loc": list(loc), "msg": msg, "type": type_}


def unprocessable(loc: Iterable[str | int], msg: str, type_: str) -> ApiError:
    """A 422 for one invalid parameter or body field."""
    return ApiError(422, "UNPROCESSABLE_ENTITY", [validation_item(loc, msg, type_)])


def bad_request(detail: Detail) -> ApiError:
    """A 400 for a request the service cannot make sense of."""
    return ApiError(400, "BAD_REQUEST", detail)


def not_found(detail: str) -> ApiError:
    """A 404 with Flows' ``NOT_FOUND`` code."""
    return ApiError(404, "NOT_FOUND", detail)


def forbidden(detail: str) -> ApiError:
    """A 403 for a caller that may see an object but not do this to it."""
    return ApiError(403, "FORBIDDEN", detail)


def state_conflict(run_id: str, status: str, allowed: Iterable[str]) -> ApiError:
    """A 409 for an operation the run's current status does not allow."""
    wanted = ", ".join(f"'{s}'" for s in allowed)
    return ApiError(
        409,
        "STATE_CONFLICT",
        f"Run {run_id} has status '{status}' but must have status in "
        f"{{{wanted}}} for requested operation",
    )
