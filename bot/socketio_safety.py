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
    json = _SafeSocketJson


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
