"""A local Meta Graph API for one app: the Send API (`/{version}/me/messages?access_token=…`), the webhook
handshake, and webhooks signed `X-Hub-Signature-256: sha256=HMAC-SHA256(app secret, raw body)`,
including the delivery and read receipts Meta sends after a message reaches the customer."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from typing import Any, Dict, List, Optional

from aiohttp import web

from tests.providers.common import FakeProvider


class FakeMeta(FakeProvider):
    def __init__(self, object_type: str, webhook_path: str, app_secret: str, page_token: str,
                 api_version: str = "v19.0") -> None:
        super().__init__()
        self.object_type = object_type        # "page" (Messenger) or "instagram"
        self.webhook_path = webhook_path
        self.app_secret = app_secret
        self.page_token = page_token
        self.page_id = str(uuid.uuid4().int)[:15]
        self.receipts: List[str] = ["delivery"]   # what Meta reports after a message went out
        self.sender_actions: List[tuple] = []
        self.app.router.add_post(f"/{api_version}/me/messages", self.send_api)

    async def send_api(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != self.page_token:
            return web.json_response({"error": {"message": "Invalid OAuth access token - Cannot parse access token",
                                                "type": "OAuthException", "code": 190}}, status=400)
        body = await request.json()
        recipient = (body.get("recipient") or {}).get("id")
        if body.get("sender_action"):
            self.sender_actions.append((recipient, body["sender_action"]))
            return web.json_response({"recipient_id": recipient})
        if self.in_outage():
            return web.json_response({"error": {"message": "An unexpected error has occurred. Please retry your "
                                                           "request later.", "type": "OAuthException",
                                                "is_transient": True, "code": 2}}, status=503)
        mid = "m_" + uuid.uuid4().hex
        await self.record({"recipient": recipient, "messaging_type": body.get("messaging_type"),
                           "tag": body.get("tag"), "message": body.get("message") or {}, "mid": mid,
                           "text": (body.get("message") or {}).get("text")})
        self.later(self._receipts(recipient, mid))
        return web.json_response({"recipient_id": recipient, "message_id": mid})

    async def _receipts(self, recipient: str, mid: str) -> None:
        await asyncio.sleep(0.05)
        now = int(time.time() * 1000) + 1000
        for kind in self.receipts:
            if kind == "delivery":
                await self.send([self.event(recipient, delivery={"mids": [mid], "watermark": now})])
            elif kind == "read" and self.object_type == "instagram":
                await self.send([self.event(recipient, read={"mid": mid})])
            elif kind == "read":
                await self.send([self.event(recipient, read={"watermark": now})])

    # ---- webhooks to Baton -----------------------------------------------------------

    def signature(self, raw: bytes, secret: Optional[str] = None) -> str:
        return "sha256=" + hmac.new((secret or self.app_secret).encode(), raw, hashlib.sha256).hexdigest()

    async def send(self, events: List[Dict[str, Any]], signature: Optional[str] = None,
                   object_type: Optional[str] = None) -> tuple:
        body = {"object": object_type or self.object_type,
                "entry": [{"id": self.page_id, "time": int(time.time() * 1000), "messaging": events}]}
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature": "sha1=" + hmac.new(self.app_secret.encode(), raw, hashlib.sha1).hexdigest()}
        headers["X-Hub-Signature-256"] = self.signature(raw) if signature is None else signature
        if signature == "":
            del headers["X-Hub-Signature-256"]
        return await self.post(f"{self.public_url}{self.webhook_path}", data=raw, headers=headers)

    def event(self, customer: str, **what: Any) -> Dict[str, Any]:
        return {"sender": {"id": customer}, "recipient": {"id": self.page_id},
                "timestamp": int(time.time() * 1000), **what}

    def text(self, customer: str, text: str, mid: Optional[str] = None, **extra: Any) -> Dict[str, Any]:
        return self.event(customer, message={"mid": mid or "m_" + uuid.uuid4().hex, "text": text, **extra})

    def quick_reply(self, customer: str, title: str, payload: str) -> Dict[str, Any]:
        return self.text(customer, title, quick_reply={"payload": payload})

    async def handshake(self, verify_token: str, challenge: str) -> tuple:
        import aiohttp

        query = {"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": challenge}
        async with aiohttp.ClientSession() as http:
            async with http.get(self.upstream(f"{self.public_url}{self.webhook_path}"), params=query) as response:
                return response.status, await response.text()
