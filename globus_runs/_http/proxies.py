"""Proxies from the environment, routed as httpx routes them (``HTTPS_PROXY``, ``HTTP_PROXY``,
``ALL_PROXY``, ``NO_PROXY``), except that loopback is never proxied; anything httpx would
refuse is a :class:`ConfigurationError` naming the variable. Imported only when a client is
made (it reads the environment then)."""

from __future__ import annotations

import importlib.util
import ipaddress
import urllib.request
from urllib.parse import urlsplit

import attrs
import httpx

from .._errors import ConfigurationError
from .._wire import is_loopback

__all__ = ["LOOPBACK_MOUNTS", "environment_proxy"]


#: Loopback hosts: never sent to a proxy (a token would go in clear to it), whatever the
#: environment says. Mounted on every client this module lets httpx route.
LOOPBACK_MOUNTS: dict[str, httpx.AsyncBaseTransport | None] = {
    "all://127.0.0.1": None,
    "all://localhost": None,
    "all://[::1]": None,
}


def _check_proxy(variable: str, url: str) -> None:
    """Refuse a proxy URL httpx could not use; never quotes it (it may hold credentials)."""
    try:
        scheme = httpx.Proxy(url).url.scheme
    except (httpx.InvalidURL, ValueError):
        raise ConfigurationError(
            f"{variable} is not a proxy URL httpx can use (http://, https://, socks5:// or "
            "socks5h://, with a valid host and port)"
        ) from None
    if scheme.startswith("socks5") and importlib.util.find_spec("socksio") is None:
        raise ConfigurationError(
            f"{variable} names a SOCKS proxy, which needs the socksio package "
            "(pip install 'httpx[socks]')"
        )


@attrs.frozen
class _ProxyRoute:
    """One of httpx's proxy routes: which URLs it takes, and whether it goes to a proxy.

    ``host`` is matched exactly, or as a domain when ``domain`` is ``"any"`` (the host or a
    name under it) or ``"below"`` (only names under it); empty matches every host.
    """

    scheme: str  # "" for every scheme
    host: str
    port: int | None
    domain: str  # "", "any" or "below"
    proxied: bool

    @classmethod
    def parse(cls, key: str, proxied: bool, variable: str) -> _ProxyRoute:
        """A route from an httpx mount key (``all://``, ``all://*example.org``, ...)."""
        try:
            url = httpx.URL(key)
        except httpx.InvalidURL as exc:
            host = key.removeprefix("all://").removeprefix("*")
            raise ConfigurationError(
                f"{variable} holds {host!r}, which httpx cannot read as a host ({exc}): write "
                "host names, IPv4 addresses or IPv6 addresses without brackets, comma-separated"
            ) from None
        scheme = "" if url.scheme == "all" else url.scheme
        host, domain = url.host, ""
        if host == "*":
            host = ""
        elif host.startswith("*."):
            host, domain = host[2:], "below"
        elif host.startswith("*"):
            host, domain = host[1:], "any"
        return cls(scheme, host, url.port, domain, proxied)

    def matches(self, url: httpx.URL) -> bool:
        if self.scheme and self.scheme != url.scheme:
            return False
        if self.port is not None and self.port != url.port:
            return False
        if not self.host:
            return True
        host = url.host
        if self.domain == "below":
            return host.endswith("." + self.host)
        if self.domain == "any":
            return host == self.host or host.endswith("." + self.host)
        return host == self.host

    @property
    def priority(self) -> tuple[int, int, int]:
        """httpx tries routes with a port first, then longer hosts, then longer schemes."""
        pattern_host = ("*." if self.domain == "below" else "*" if self.domain else "") + self.host
        return (0 if self.port is not None else 1, -len(pattern_host), -len(self.scheme))


def _no_proxy_key(entry: str) -> str:
    """The route httpx makes of one ``NO_PROXY`` entry."""
    if "://" in entry:
        return entry
    try:
        address = ipaddress.ip_address(entry.partition("/")[0])
    except ValueError:
        return f"all://{entry}" if entry.lower() == "localhost" else f"all://*{entry}"
    return f"all://[{entry}]" if address.version == 6 else f"all://{entry}"


def _proxy_routes() -> list[_ProxyRoute]:
    """The routes httpx builds from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``,
    ``ALL_PROXY``, any case, and ``NO_PROXY``; read as httpx reads them), in the order httpx
    tries them. Empty when no proxy is set (``NO_PROXY`` then routes nothing).

    Anything httpx would refuse when it builds a client is a :class:`ConfigurationError`
    naming the variable.
    """
    found = urllib.request.getproxies()
    routes = []
    for scheme in ("http", "https", "all"):
        proxy = found.get(scheme)
        if proxy:
            variable = f"{scheme.upper()}_PROXY"
            _check_proxy(variable, proxy if "://" in proxy else f"http://{proxy}")
            routes.append(_ProxyRoute.parse(f"{scheme}://", True, variable))
    if not routes:
        return []
    for entry in (item.strip() for item in found.get("no", "").split(",")):
        if entry == "*":
            return []  # no proxy for anything
        if entry:
            routes.append(_ProxyRoute.parse(_no_proxy_key(entry), False, "NO_PROXY"))
    return sorted(routes, key=lambda route: route.priority)


def environment_proxy(url: str | None) -> bool:
    """Whether httpx would send a request for ``url`` to a proxy set in the environment (to
    any URL when None). A loopback host never goes to a proxy."""
    if url is not None and is_loopback(urlsplit(url).hostname or ""):
        return False
    routes = _proxy_routes()
    if url is None or not routes:
        return bool(routes)
    target = httpx.URL(url)
    return next((route.proxied for route in routes if route.matches(target)), False)
