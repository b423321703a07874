"""A local Telegram Bot API: `/bot<token>/<method>` (form or JSON parameters, `{"ok": …}` answers),
and webhook updates posted with the secret token the bot registered through `setWebhook`."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any, Dict, Optional

from aiohttp import web

from tests.providers.common import FakeProvider


class FakeTelegram(FakeProvider):
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.webhook: Dict[str, Any] = {}     # what setWebhook registered: url, secret_token, allowed_updates
        self.chat_actions: list = []
        self._ids = itertools.count(1000)
        self._updates = itertools.count(int(time.time()))
        self.app.router.add_post("/bot{token}/{method}", self.method)

    async def method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        name = request.match_info["method"].lower()
        if name == "setwebhook":
            self.webhook = {"url": params.get("url"), "secret_token": params.get("secret_token"),
                            "allowed_updates": json.loads(params.get("allowed_updates") or "[]")}
            return web.json_response({"ok": True, "result": True, "description": "Webhook was set"})
        if name == "sendchataction":
            self.chat_actions.append((params.get("chat_id"), params.get("action")))
            return web.json_response({"ok": True, "result": True})
        if name not in ("sendmessage", "sendphoto"):
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        if self.in_outage():
            return web.json_response({"ok": False, "error_code": 503, "description": "Service Unavailable"},
                                     status=503)
        chat_id = str(params.get("chat_id"))
        text = params.get("text") if name == "sendmessage" else params.get("caption")
        if name == "sendmessage" and not text:
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: message text is empty"}, status=400)
        markup = json.loads(params["reply_markup"]) if params.get("reply_markup") else None
        message_id = next(self._ids)
        await self.record({"method": name, "chat_id": chat_id, "text": text, "photo": params.get("photo"),
                           "reply_markup": markup, "message_id": message_id})
        if self.late_answer:
            await asyncio.sleep(self.late_answer)
        return web.json_response({"ok": True, "result": {
            "message_id": message_id, "date": int(time.time()), "chat": {"id": int(chat_id), "type": "private"},
            "from": {"id": 1, "is_bot": True, "first_name": "Shop"}, **({"text": text} if text else {})}})

    # ---- updates to Baton ------------------------------------------------------------

    async def deliver(self, update: Dict[str, Any], secret: Optional[str] = None) -> tuple:
        """POST an update to the registered webhook, with the registered secret (or the one given)."""
        assert self.webhook.get("url"), "the bot never called setWebhook"
        token = self.webhook.get("secret_token") if secret is None else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        return await self.post(self.webhook["url"], json=update, headers=headers)

    def text_update(self, chat_id: int, text: str, update_id: Optional[int] = None, **message: Any) -> Dict[str, Any]:
        user = {"id": chat_id, "is_bot": False, "first_name": "Ada", "last_name": "L.", "language_code": "en"}
        return {"update_id": update_id or next(self._updates), "message": {
            "message_id": next(self._ids), "from": user, "chat": {"id": chat_id, "type": "private",
                                                                  "first_name": "Ada"},
            "date": int(time.time()), **({"text": text} if text else {}), **message}}

    def button_tap(self, chat_id: int, data: str) -> Dict[str, Any]:
        user = {"id": chat_id, "is_bot": False, "first_name": "Ada"}
        return {"update_id": next(self._updates), "callback_query": {
            "id": str(next(self._ids)), "from": user, "chat_instance": "1", "data": data,
            "message": {"message_id": next(self._ids), "date": int(time.time()),
                        "chat": {"id": chat_id, "type": "private"}, "text": "…"}}}
