"""The TLS trust of the library's pools when the caller gives none: the environment's
(``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, else the system's), made once per process and setting,
only when the first https connection needs it (plain http never loads a trust store)."""

from __future__ import annotations

import functools
import os
import ssl

import httpx

from .._errors import ConfigurationError

__all__ = ["environment_tls_context"]


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """The TLS context of the pools, one per process (and CA setting from the environment):
    building one loads the CA bundle, which costs more than many requests.

    A CA file or directory named by ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` that cannot be
    loaded is a :class:`ConfigurationError` naming it (retrying cannot help).
    """
    try:
        return httpx.create_ssl_context(verify=True, trust_env=True)
    except OSError as exc:  # a missing or unreadable file, or one holding no certificate
        variable, path = ("SSL_CERT_FILE", cert_file) if cert_file else ("SSL_CERT_DIR", cert_dir)
        raise ConfigurationError(
            f"{variable}={path!r} cannot be loaded as CA certificates: "
            f"{exc.strerror or exc}; unset it to use the default trust store"
        ) from None


def environment_tls_context() -> ssl.SSLContext:
    """The TLS context for the CA settings of the environment as they are now."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
