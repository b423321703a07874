"""Socket.IO that answers every event: bad JSON, unknown events and failures get an error, never silence.

python-socketio raises on a packet whose JSON it cannot read (the client waits for an ack
that never comes), leaves unknown events unanswered, and drops an exception inside a handler
into a log line. Baton's namespaces derive from `SafeNamespace` and the server decodes with
`SafePacket`, so each of those becomes an `{ok: false, error, message}` answer.
"""

from __future__ import annotations

import logging
from typing import Any, Dict

import socketio
from socketio import packet

from bot import jsonsafe

log = logging.getLogger(__name__)

INVALID_PAYLOAD = "\x00invalid-payload"   # an event name no client can send (it holds a NUL)
SYSTEM_EVENTS = ("connect", "disconnect")
# Names python-socketio reserves for itself; a client's EVENT packet may not carry them.
CLIENT_FORBIDDEN_EVENTS = frozenset({"connect", "connect_error", "disconnect", "__disconnect_final"})


def failure(code: str, message: str) -> Dict[str, Any]:
    return {"ok": False, "error": code, "message": message}


class _SafeSocketJson:
    """Strict in and out: a payload Baton refuses becomes an event its namespaces answer with an error."""

    @staticmethod
    def dumps(value: Any, *args: Any, **kwargs: Any) -> str:
        return jsonsafe.dumps(value, separators=(",", ":"))

    @staticmethod
    def loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return jsonsafe.loads(text)
        except jsonsafe.BadJson as exc:
            return [INVALID_PAYLOAD, str(exc)]


class SafePacket(packet.Packet):
    """Decodes strictly, and turns an event python-socketio cannot dispatch safely into a refusal.

    An event must be a non-empty list naming it: `[]`, `null` or `{}` made python-socketio fail
    before any handler ran (no answer). Nor may a client send the system events: python-socketio
    would call `on_connect` with the client's payload as the connection's environ (a client could
    pick its own address and escape the per-address limits) or `on_disconnect` on a live socket.
    """

    json = _SafeSocketJson

    def decode(self, encoded_packet: Any) -> int:
        attachments = super().decode(encoded_packet)
        if self.packet_type in (packet.EVENT, packet.BINARY_EVENT):
            data = self.data
            if not isinstance(data, list) or not data:
                self.data = [INVALID_PAYLOAD, "an event is a JSON list: [name, payload]"]
            elif isinstance(data[0], str) and data[0] in CLIENT_FORBIDDEN_EVENTS:
                self.data = [INVALID_PAYLOAD, f"{data[0]!r} is not an event a client may send"]
        return attachments


class SafeNamespace(socketio.AsyncNamespace):
    """Routes events like AsyncNamespace, but always answers: unknown events and failures included."""

    async def trigger_event(self, event: Any, *args: Any) -> Any:
        if event in SYSTEM_EVENTS:
            return await super().trigger_event(event, *args)
        sid = args[0] if args else None
        if event == INVALID_PAYLOAD:
            reason = args[1] if len(args) > 1 else "unreadable payload"
            return await self.refuse(sid, "malformed", f"the payload is not acceptable JSON: {reason}")
        if not isinstance(event, str) or not event or len(event) > 64 or event.startswith("_") \
                or not hasattr(self, "on_" + event):
            return await self.refuse(sid, "unknown_event", f"unknown event {str(event)[:64]!r}")
        if len(args) > 2:
            return await self.refuse(sid, "malformed", f"{event} takes one payload")
        problem = jsonsafe.find_problem(args[1]) if len(args) > 1 else None
        if problem:
            return await self.refuse(sid, "malformed", f"{event}: {problem}")
        try:
            return await getattr(self, "on_" + event)(*args)
        except Exception:
            log.exception("%s event %s failed", self.namespace, event)
            return await self.refuse(sid, "internal", "Something went wrong on our side; please try again.")

    async def refuse(self, sid: Any, code: str, message: str) -> Dict[str, Any]:
        """How this namespace says no; the agents' namespace acks, the customer channel also emits `error`."""
        return failure(code, message)
