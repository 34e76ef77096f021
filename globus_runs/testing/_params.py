"""Strict reading of query parameters.

Known parameters must appear at most once and must not be empty: a client that
sends ``None`` as an empty string, or a list as repeated keys, gets a 422 here
instead of a silently different answer. Unknown parameters are ignored.

Two spellings real clients use are accepted as the services accept them: a
multi-valued filter sent empty (``filter_roles=``) means "no filter", and
booleans are ``true``/``false`` in any letter case (Python clients send ``True``).
Anything else stays a 422.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._errors import unprocessable


class QueryParams:
    """The query of one request, read one known parameter at a time."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._pairs = list(pairs)

    def text(self, name: str) -> str | None:
        """The value of ``name``, or ``None`` when it was not sent."""
        values = [value for key, value in self._pairs if key == name]
        if not values:
            return None
        if len(values) > 1:
            raise unprocessable(
                ["query", name],
                "given more than once (multiple values are comma-joined)",
                "value_error.duplicate",
            )
        if values[0] == "":
            raise unprocessable(["query", name], "must not be empty", "value_error.empty")
        return values[0]

    def words(self, name: str) -> tuple[str, ...]:
        """A comma-joined list parameter; empty when not sent or sent empty."""
        values = [value for key, value in self._pairs if key == name]
        if values == [""]:
            # globus-cli sends every multi-valued filter, empty when not used.
            return ()
        value = self.text(name)
        if value is None:
            return ()
        words = tuple(word.strip() for word in value.split(","))
        if any(not word for word in words):
            raise unprocessable(["query", name], "contains an empty item", "value_error.empty")
        return words

    def boolean(self, name: str, default: bool) -> bool:
        """A ``true``/``false`` parameter, in any letter case (``True`` from Python)."""
        value = self.text(name)
        if value is None:
            return default
        word = value.lower()
        if word in ("true", "false"):
            return word == "true"
        raise unprocessable(
            ["query", name],
            "value could not be parsed to a boolean (use true or false)",
            "type_error.bool",
        )

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        """An integer parameter within ``[low, high]``."""
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise unprocessable(
                ["query", name], "value is not a valid integer", "type_error.integer"
            ) from None
        if not low <= number <= high:
            raise unprocessable(
                ["query", name],
                f"ensure this value is between {low} and {high}",
                "value_error.number.not_in_range",
            )
        return number
