"""The contract every channel keeps, and the registry outbound delivery uses."""

from __future__ import annotations

from typing import Any, Dict, Optional, Protocol


class OutboundChannel(Protocol):
    name: str

    async def deliver(self, external_id: str, message: Dict[str, Any]) -> None:
        """Send one stored message (agent or system) to the customer, on this channel."""


class ChannelRegistry:
    def __init__(self) -> None:
        self._channels: Dict[str, OutboundChannel] = {}

    def register(self, channel: OutboundChannel) -> None:
        self._channels[channel.name] = channel

    def get(self, name: str) -> Optional[OutboundChannel]:
        return self._channels.get(name)


def rasa_output(message: Dict[str, Any]) -> Dict[str, Any]:
    """A stored message in Rasa's channel-neutral output shape (text, buttons, image, custom)."""
    out: Dict[str, Any] = {}
    if message.get("text"):
        out["text"] = message["text"]
    payload = message.get("payload") or {}
    for key in ("buttons", "image", "custom"):
        if payload.get(key) is not None:
            out[key] = payload[key]
    return out


def error_body(code: str, text: str) -> Dict[str, str]:
    return {"error": code, "message": text}
