"""Writing a fanned-out frame straight to a socket's transport, bytes encoded once per audience.

A server's WebSocket frames are not masked and `forum serve` negotiates no extension, so one
event frame is the same bytes for every connection that gets it. Sent the ASGI way, every
connection would frame it again and pass it through Starlette's state checks, two exception
wrappers, uvicorn's `send` coroutine and the websockets protocol object: about half of the
server's CPU per delivered frame at 10,000 subscribers (`bench/ws_fanout.py`). Here the frame
is serialized once and each connection that is open, idle and writable gets `transport.write`.

This reaches into uvicorn's websockets-sansio protocol (the one `forum serve` runs, see
realtime.endpoint.server_options), so it is used only when every assumption holds: the ASGI
`receive` of the connection is that protocol's own bound method, no extension was negotiated,
and at the moment of writing the protocol would have written the frame itself, at once
(handshake done, nothing sent or received that closes, nothing of its own waiting to go out,
the transport not paused). Otherwise — another server, a test double, a paused or closing
socket — the frame goes through `websocket.send()` as before. Both paths put the same bytes on
the wire in call order: the direct one is only taken while the ASGI one would not wait.
"""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket, WebSocketState
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State


def text_frame(text: str) -> bytes:
    """A final, unmasked text frame carrying `text`: what the server side writes for it."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


def _forget_handshake(protocol: WebSocketsSansIOProtocol) -> None:
    """Drop uvicorn's references to the handshake's HTTP response and request.

    uvicorn keeps both (`response`, `request`: header objects and all, about 2 KiB per
    connection in RSS) for the life of the connection but reads them only until the
    handshake is answered (handle_connect, and send() for `websocket.accept`; uvicorn 0.54).
    At 10,000 idle connections that is 20 MB of the 32 KiB-per-connection budget. Called once
    the handshake is complete, so nothing reads them again. (websockets' parser still holds
    the request.)
    """
    state = vars(protocol)
    state.pop("response", None)
    state.pop("request", None)


class Direct:
    """The uvicorn protocol under one accepted WebSocket, for writes that skip the ASGI path."""

    __slots__ = ("websocket", "protocol", "sansio", "writable", "transport")

    def __init__(self, websocket: WebSocket, protocol: WebSocketsSansIOProtocol) -> None:
        self.websocket = websocket
        self.protocol = protocol
        # Held here as well: one hop less for each of thousands of writes per event.
        self.sansio = protocol.conn
        self.writable = protocol.writable
        self.transport = protocol.transport

    @classmethod
    def of(cls, websocket: Any) -> Direct | None:
        """The direct path for this accepted socket, or None when it is not served by
        uvicorn's websockets-sansio protocol without extensions (the caller then uses
        send()). Also lets go of the handshake (_forget_handshake)."""
        receive = getattr(websocket, "_receive", None)
        protocol = getattr(receive, "__self__", None)
        if not isinstance(websocket, WebSocket) or not isinstance(
            protocol, WebSocketsSansIOProtocol
        ):
            return None
        if (
            receive != protocol.receive
            or protocol.conn.extensions
            or not protocol.handshake_complete
            or protocol.initial_response is not None
        ):
            return None
        _forget_handshake(protocol)
        return cls(websocket, protocol)

    def abort(self) -> None:
        """End the connection at once, unsent bytes dropped (a client that never reads)."""
        self.transport.abort()

    def write(self, frame: bytes) -> bool:
        """Write `frame` now if uvicorn's own send() would have written it at once (the
        checks it and websockets make, in the same order); False, with nothing written, when
        the caller must go through send() — which then waits, or raises, as it should."""
        protocol, sansio = self.protocol, self.sansio
        if (
            not self.writable.is_set()
            or protocol.disconnected
            or protocol.close_sent
            or sansio.expect_continuation_frame
            or sansio.state is not State.OPEN
            or sansio.writes
            or self.websocket.application_state is not WebSocketState.CONNECTED
            or self.transport.is_closing()
        ):
            return False
        try:
            self.transport.write(frame)
        except Exception:  # let send() meet the same failure and deal with it as it does
            return False
        return True
