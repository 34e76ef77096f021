"""What went wrong in a batch, summed up for the terminal: a count per kind of error and the
first message of each."""

from __future__ import annotations

from typing import Any

import attrs

from .._errors import APIError, NotAttemptedError
from ._options import one_line

__all__ = ["FailureKind", "FailureTally", "INVALID_LINE"]

#: The kind of an input line that is not a run to start.
INVALID_LINE = "invalid input line"
_NOT_ATTEMPTED = "not attempted after"


@attrs.define
class FailureKind:
    """Items that failed the same way: ``kind`` (``"401 AUTHENTICATION_ERROR"``, an error
    type such as ``"ConnectError"``, or `INVALID_LINE`), how many, and the first of them."""

    kind: str
    count: int
    first_message: str
    first_line: int | None

    def document(self) -> dict[str, Any]:
        """``{"kind", "count", "first_message", "first_line"}``."""
        return attrs.asdict(self)

    def text(self) -> str:
        """``200 failed: 401 AUTHENTICATION_ERROR: Token is not active (first: line 1)``."""
        where = f" (first: line {self.first_line})" if self.first_line is not None else ""
        return f"{self.count} failed: {self.kind}: {self.first_message}{where}"


def _kind_and_message(error: BaseException) -> tuple[str, str]:
    if isinstance(error, NotAttemptedError):
        # Items never sent because of an earlier answer: one kind per cause, said in words.
        cause_kind, _ = _kind_and_message(error.cause)
        return f"{_NOT_ATTEMPTED} {cause_kind}", error.reason
    if isinstance(error, APIError):
        return f"{error.http_status} {error.code}", " ".join(error.message.split())
    message = one_line(error)
    kind = type(error).__name__
    return kind, message.removeprefix(f"{kind}: ")


class FailureTally:
    """Counts the failures of a batch by kind, in the order kinds first appear."""

    def __init__(self) -> None:
        self._kinds: dict[str, FailureKind] = {}

    def add(self, error: BaseException | str, line: int | None = None) -> None:
        """Count one failure: a library error, or why an input line is invalid."""
        if isinstance(error, str):
            kind, message = INVALID_LINE, error
        else:
            kind, message = _kind_and_message(error)
        found = self._kinds.get(kind)
        if found is None:
            self._kinds[kind] = FailureKind(kind, 1, message, line)
        else:
            found.count += 1
            if line is not None and (found.first_line is None or line < found.first_line):
                # Items end in any order: "first" is the earliest line, whatever ended first.
                found.first_line, found.first_message = line, message

    def kinds(self) -> list[FailureKind]:
        """Each kind, the most frequent first; items not attempted last, after their causes."""
        return sorted(
            self._kinds.values(),
            key=lambda kind: (kind.kind.startswith(_NOT_ATTEMPTED), -kind.count),
        )
