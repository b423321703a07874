"""A local Twilio: the Messages API (form POST, Basic auth, JSON answers), signed webhooks and status callbacks.

The signature is computed here from Twilio's documented algorithm (HMAC-SHA1, keyed with the
auth token, of the full URL followed by each POST field's name and value sorted by name;
base64), not with the `twilio` library Baton validates with, so the tests check Baton against
the protocol rather than against itself.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import uuid
from typing import Any, Dict, List, Mapping, Optional

from aiohttp import web

from tests.providers.common import FakeProvider


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class FakeTwilio(FakeProvider):
    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.callbacks: List[str] = ["sent", "delivered"]   # statuses reported after accepting a message
        self.callback_delay = 0.05
        self.app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.create_message)

    # ---- the Messages API ------------------------------------------------------------

    async def create_message(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("Authorization") != expected or request.match_info["sid"] != self.account_sid:
            return web.json_response({"code": 20003, "message": "Authenticate", "status": 401}, status=401)
        if self.in_outage():
            return web.json_response({"code": 20503, "message": "Service Unavailable", "status": 503}, status=503)
        form = await request.post()
        if not form.get("To") or not (form.get("Body") or form.get("MediaUrl") or form.get("ContentSid")):
            return web.json_response({"code": 21602, "message": "Message body is required.", "status": 400},
                                     status=400)
        message = {"sid": "SM" + uuid.uuid4().hex, "to": form["To"], "from": form.get("From"),
                   "body": form.get("Body"), "media_url": form.getall("MediaUrl", []),
                   "content_sid": form.get("ContentSid"), "content_variables": form.get("ContentVariables"),
                   "status_callback": form.get("StatusCallback")}
        await self.record(message)
        if self.late_answer:
            await asyncio.sleep(self.late_answer)   # the message is taken; its answer comes too late
        if message["status_callback"]:
            self.later(self._report(message))
        return web.json_response({"sid": message["sid"], "account_sid": self.account_sid, "status": "queued",
                                  "to": message["to"], "from": message["from"], "body": message["body"],
                                  "num_media": str(len(message["media_url"])), "direction": "outbound-api",
                                  "api_version": "2010-04-01", "error_code": None, "error_message": None},
                                 status=201)

    async def _report(self, message: Dict[str, Any]) -> None:
        for status in self.callbacks:
            await asyncio.sleep(self.callback_delay)
            params = {"MessageSid": message["sid"], "SmsSid": message["sid"], "MessageStatus": status,
                      "SmsStatus": status, "AccountSid": self.account_sid, "From": message["from"] or "",
                      "To": message["to"], "ApiVersion": "2010-04-01"}
            if status in ("failed", "undelivered"):
                params["ErrorCode"] = "30003"
            await self.signed_post(message["status_callback"], params)

    # ---- webhooks to Baton -----------------------------------------------------------

    async def signed_post(self, url: str, params: Dict[str, str], signature: Optional[str] = None) -> tuple:
        headers = {"X-Twilio-Signature": signature if signature is not None
                   else twilio_signature(self.auth_token, url, params)}
        if signature == "":
            headers = {}
        return await self.post(url, data=params, headers=headers)

    def inbound_params(self, sender: str, to: str, body: str, sid: Optional[str] = None,
                       **extra: str) -> Dict[str, str]:
        sid = sid or "SM" + uuid.uuid4().hex
        return {"MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid,
                "From": sender, "To": to, "Body": body, "NumMedia": "0", "NumSegments": "1",
                "ApiVersion": "2010-04-01", "SmsStatus": "received", **extra}

    async def message_from(self, path: str, sender: str, to: str, body: str, sid: Optional[str] = None,
                           signature: Optional[str] = None, **extra: str) -> tuple:
        """A customer's message, posted to Baton's webhook `path` as Twilio posts it."""
        return await self.signed_post(f"{self.public_url}{path}", self.inbound_params(sender, to, body, sid, **extra),
                                      signature)
