"""Build hook: the docstrings' reStructuredText roles and ``Example::`` markers, as plain text."""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|meth|func|attr|exc|data|mod):(?=<code>)")
_EXAMPLE = re.compile(r"\b(Examples?)::")


def on_page_content(html: str, **kwargs: Any) -> str:
    """Drop the role prefixes before code spans, and the second colon of ``Example::``."""
    return _EXAMPLE.sub(r"\1:", _ROLE.sub("", html))
