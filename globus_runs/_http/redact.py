"""Redaction: every secret a request carried (its ``Authorization`` header and credentials,
Basic ones decoded, and the request's own secrets) replaced in any text shown, as sent and as
a server may echo it (URL-encoded, or escaped in a JSON string)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from .. import _json
from .._wire import ApiRequest

__all__ = ["MIN_SECRET", "redact", "secrets_of"]

_REDACTED = "<redacted>"
MIN_SECRET = 8


def secrets_of(authorization: str | None, request: ApiRequest) -> list[str]:
    """Every secret value ``request`` carried, longest first (so a header goes before its token).

    The ``Authorization`` header and its credentials, decoded too when they are Basic ones,
    and the request's own :attr:`~ApiRequest.secrets`.
    """
    found = list(request.secrets)
    headers = [authorization] if authorization is not None else []
    headers += [value for name, value in request.headers if name.lower() == "authorization"]
    for header in headers:
        scheme, _, credentials = header.partition(" ")
        found += (header, credentials)
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
            found += (pair, pair.partition(":")[2])
    # Under 8 characters a value is no secret worth the name (a test's "t"), and replacing it
    # everywhere would garble the message; a header value ("Bearer t") is long enough.
    return sorted({secret for secret in found if len(secret) >= MIN_SECRET}, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret replaced, as sent and as a server may echo it (URL-encoded,
    or escaped in a JSON string)."""
    for secret in secrets:
        forms = {secret, quote_plus(secret), quote(secret, safe=""), _json_escaped(secret)}
        for form in sorted(forms, key=len, reverse=True):
            if form and form in text:
                text = text.replace(form, _REDACTED)
    return text


def _json_escaped(value: str) -> str:
    try:
        return bytes(_json.dumps(value)).decode("utf-8")[1:-1]
    except (TypeError, ValueError):  # a lone surrogate: a value no JSON answer could hold
        return ""
