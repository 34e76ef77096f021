"""Dropping idle and slow connections when the emulator is served.

uvicorn closes a connection that stays idle ``timeout_keep_alive`` seconds after a
response, but waits for ever on one that never finishes its request head. The protocol
here is uvicorn's HTTP/1.1 protocol with that second bound added: a request head must
be complete within ``header_timeout`` seconds of the connection being made, or of the
first byte of a later request on it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    from uvicorn.config import Config
    from uvicorn.server import ServerState


class HeaderTimeoutProtocol(H11Protocol):
    """HTTP/1.1 as uvicorn speaks it, closing connections whose request head is late
    (made with `protocol_with`, which sets ``header_timeout``)."""

    header_timeout: float

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            self._disarm()  # the head is complete (or the connection is going)
        else:
            self._arm()  # part of a head: it has header_timeout from its first byte

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._disarm()  # idle again: the keep-alive timeout applies

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def protocol_with(header_timeout: float) -> type[HeaderTimeoutProtocol]:
    """`HeaderTimeoutProtocol` with ``header_timeout`` seconds for a request head."""
    if header_timeout <= 0:
        raise ValueError(f"the header timeout must be positive, not {header_timeout:g}")
    return type(
        "HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": header_timeout}
    )
