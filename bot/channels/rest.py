"""REST channel, compatible with Rasa's `POST /webhooks/rest/webhook`.

The caller names the sender (it is usually the company's own backend). Unlike
Rasa's channel, a failure is never answered with a silent `[]`: the bot's
failure becomes a handoff, and bad input gets a 4xx with a message.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, Optional

from aiohttp import ClientSession, ClientTimeout, web

from bot.channels.base import error_body, rasa_output
from bot.channels.inbound_validation import BadInput, clean_id, clean_metadata, clean_text
from bot.conversation import ConversationFlow
from bot.domain import InboundMessage

log = logging.getLogger(__name__)

NAME = "rest"


class RestChannel:
    name = NAME

    def __init__(self, flow: ConversationFlow, max_chars: int, max_body_bytes: int,
                 token: Optional[str] = None, callback_url: Optional[str] = None) -> None:
        self.flow = flow
        self.max_chars = max_chars
        self.max_body_bytes = max_body_bytes
        self.token = token
        self.callback_url = callback_url

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/webhooks/rest/", self.health)
        app.router.add_post("/webhooks/rest/webhook", self.receive)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def receive(self, request: web.Request) -> web.Response:
        try:
            self._authorise(request)
            inbound = await self._parse(request)
        except BadInput as exc:
            return web.json_response(error_body(exc.code, exc.message), status=exc.status)
        result = await self.flow.handle(inbound)
        body = [{"recipient_id": inbound.external_id, **rasa_output(m)} for m in result.replies]
        return web.json_response(body)

    def _authorise(self, request: web.Request) -> None:
        if not self.token:
            return
        given = request.query.get("token") or request.headers.get("Authorization", "").removeprefix("Bearer ")
        if given != self.token:
            raise BadInput("unauthorised", "a valid REST token is required", 401)

    async def _parse(self, request: web.Request) -> InboundMessage:
        if request.content_length is not None and request.content_length > self.max_body_bytes:
            raise BadInput("body_too_large", f"request bodies are limited to {self.max_body_bytes} bytes", 413)
        raw = await request.content.read(self.max_body_bytes + 1)
        if len(raw) > self.max_body_bytes:
            raise BadInput("body_too_large", f"request bodies are limited to {self.max_body_bytes} bytes", 413)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("invalid_utf8", "the request body is not valid UTF-8")
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput("malformed_json", f"the request body is not valid JSON: {exc.msg}")
        if not isinstance(body, dict):
            raise BadInput("malformed_json", "the request body must be a JSON object")
        sender = clean_id(body.get("sender"), "sender")
        message = clean_text(body.get("message"), self.max_chars)
        metadata = clean_metadata(body.get("metadata"))
        message_id = clean_id(body.get("message_id", metadata.get("message_id")), "message_id", required=False)
        return InboundMessage(channel=NAME, external_id=sender, text=message,
                              channel_message_id=message_id, metadata=metadata,
                              customer_name=metadata.get("customer_name") or metadata.get("name"))

    async def deliver(self, external_id: str, message: Dict[str, Any]) -> None:
        """REST is request/response; later messages go to the configured callback URL."""
        if not self.callback_url:
            return
        body = {"recipient_id": external_id, "sender": message["sender"], **rasa_output(message)}
        async with ClientSession(timeout=ClientTimeout(total=10)) as http:
            async with http.post(self.callback_url, json=body) as response:
                if response.status >= 400:
                    log.warning("REST callback answered %s for conversation %s",
                                response.status, message.get("conversation_id"))
