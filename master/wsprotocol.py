"""uvicorn's WebSocket protocol (websockets' sans-I/O one) with client-go's
subprotocol names let through.

kubectl names the port-forward tunnel ``SPDY/3.1+portforward.k8s.io``: a
``/`` is no token character of RFC 7230, so ``websockets`` answers its
handshake 400 before the application sees it. Go's servers do not check.
The application reads the offered names from the ASGI scope (uvicorn splits
the header on commas itself) and names the one it accepts; websockets need
not parse them.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.datastructures import Headers
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol


class _LenientServerProtocol(ServerProtocol):
    def process_subprotocol(self, headers: Headers) -> Subprotocol | None:
        return None  # the application chooses; uvicorn writes its choice in the answer


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # the same object, built by uvicorn with its settings, reading subprotocols leniently
        self.conn.__class__ = _LenientServerProtocol
