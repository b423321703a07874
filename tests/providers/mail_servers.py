"""A local SMTP server, a local IMAP mailbox and a Mailgun-style inbound forwarder, small and asyncio-based.

Enough of RFC 5321 (EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA with dot-stuffing, RSET, NOOP, QUIT)
and of RFC 3501 (CAPABILITY, LOGIN, SELECT, UID SEARCH UNSEEN, UID FETCH BODY.PEEK[], UID STORE
+FLAGS, LOGOUT) for Python's `smtplib` and `imaplib` to talk to them as to real servers. Written
here rather than adding `aiosmtpd`: the tests need an outage and a lost answer on demand, which
a few lines give, and no new package has to resolve together with Rasa.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import hmac
import secrets
import time
from typing import Any, Dict, List, Optional, Tuple

import aiohttp

from tests.providers.common import FakeProvider
from tests.support import free_port


class FakeSmtp(FakeProvider):
    """Records each accepted mail as {"from", "to", "raw", "mail"}. `outage`: answer 421 at connect."""

    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()
        self._server: Optional[asyncio.AbstractServer] = None

    async def start(self) -> "FakeSmtp":
        self._server = await asyncio.start_server(self._session, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        try:
            if self.in_outage():
                say("421 4.3.2 Service not available, closing transmission channel")
                await writer.drain()
                return
            say("220 mail.test ESMTP ready")
            sender, recipients = None, []
            while True:
                line = (await reader.readline()).decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    return
                verb = line.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    say("250-mail.test")
                    say("250-8BITMIME")
                    say("250-AUTH PLAIN")
                    say("250 SIZE 10485760")
                elif verb == "HELO":
                    say("250 mail.test")
                elif verb == "AUTH":
                    say("235 2.7.0 Authentication successful")
                elif verb == "MAIL":
                    sender, recipients = line.split(":", 1)[1].strip().strip("<>").split(">")[0], []
                    say("250 2.1.0 Ok")
                elif verb == "RCPT":
                    recipients.append(line.split(":", 1)[1].strip().strip("<>").split(">")[0])
                    say("250 2.1.5 Ok")
                elif verb == "DATA":
                    say("354 End data with <CR><LF>.<CR><LF>")
                    await writer.drain()
                    raw = await self._data(reader)
                    mail = email.message_from_bytes(raw, policy=email.policy.default)
                    await self.record({"from": sender, "to": list(recipients), "raw": raw, "mail": mail,
                                       "text": mail.get_body(preferencelist=("plain",)).get_content().strip()})
                    if self.late_answer:
                        await asyncio.sleep(self.late_answer)
                    say(f"250 2.0.0 Ok: queued as {secrets.token_hex(5).upper()}")
                elif verb in ("RSET", "NOOP"):
                    say("250 2.0.0 Ok")
                elif verb == "QUIT":
                    say("221 2.0.0 Bye")
                    await writer.drain()
                    return
                else:
                    say("502 5.5.2 Command not recognized")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    @staticmethod
    async def _data(reader: asyncio.StreamReader) -> bytes:
        lines: List[bytes] = []
        while True:
            line = await reader.readline()
            if line in (b".\r\n", b".\n", b""):
                return b"".join(lines)
            lines.append(line[1:] if line.startswith(b"..") else line)


class FakeImap:
    """One mailbox; messages get UIDs 1, 2, … and a \\Seen flag once fetched and stored."""

    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username, password
        self.port = free_port()
        self.mailbox: List[Dict[str, Any]] = []
        self.logins = 0
        self._server: Optional[asyncio.AbstractServer] = None

    async def start(self) -> "FakeImap":
        self._server = await asyncio.start_server(self._session, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def deliver(self, raw: bytes) -> int:
        self.mailbox.append({"uid": len(self.mailbox) + 1, "raw": raw, "seen": False})
        return len(self.mailbox)

    def seen(self, uid: int) -> bool:
        return self.mailbox[uid - 1]["seen"]

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        try:
            say("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] mail.test IMAP ready")
            await writer.drain()
            authed = False
            while True:
                line = (await reader.readline()).decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    return
                tag, _, rest = line.partition(" ")
                command, _, args = rest.partition(" ")
                command = command.upper()
                if command == "UID":
                    command, _, args = args.partition(" ")
                    command = "UID " + command.upper()
                if command == "CAPABILITY":
                    say("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
                    say(f"{tag} OK CAPABILITY completed")
                elif command == "LOGIN":
                    user, password = [a.strip('"') for a in args.split(" ", 1)]
                    authed = (user, password) == (self.username, self.password)
                    self.logins += authed
                    say(f"{tag} OK LOGIN completed" if authed else f"{tag} NO [AUTHENTICATIONFAILED] Invalid")
                elif not authed and command not in ("LOGOUT", "NOOP"):
                    say(f"{tag} NO not authenticated")
                elif command == "SELECT":
                    say(f"* {len(self.mailbox)} EXISTS")
                    say("* 0 RECENT")
                    say("* FLAGS (\\Seen)")
                    say(f"{tag} OK [READ-WRITE] SELECT completed")
                elif command == "UID SEARCH":
                    unseen = " ".join(str(m["uid"]) for m in self.mailbox if not m["seen"])
                    say(f"* SEARCH {unseen}".rstrip())
                    say(f"{tag} OK SEARCH completed")
                elif command == "UID FETCH":
                    uid = int(args.split(" ", 1)[0])
                    raw = self.mailbox[uid - 1]["raw"]
                    writer.write(f"* {uid} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
                    say(f"{tag} OK FETCH completed")
                elif command == "UID STORE":
                    uid = int(args.split(" ", 1)[0])
                    if "\\SEEN" in args.upper():
                        self.mailbox[uid - 1]["seen"] = True
                    say(f"* {uid} FETCH (UID {uid} FLAGS (\\Seen))")
                    say(f"{tag} OK STORE completed")
                elif command == "LOGOUT":
                    say("* BYE logging out")
                    say(f"{tag} OK LOGOUT completed")
                    await writer.drain()
                    return
                else:
                    say(f"{tag} OK {command} completed")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


def mailgun_fields(raw: bytes, signing_key: str) -> Dict[str, Any]:
    """What Mailgun posts for a route forwarding to a URL ending in `mime`: the message and its signature."""
    timestamp, token = str(int(time.time())), secrets.token_hex(25)
    signature = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": signature, "body-mime": raw}


async def post_inbound(url: str, fields: Dict[str, Any], auth: Optional[Tuple[str, str]] = None) -> tuple:
    form = aiohttp.FormData()
    for name, value in fields.items():
        if isinstance(value, bytes):
            form.add_field(name, value, filename="message.mime", content_type="message/rfc822")
        else:
            form.add_field(name, value)
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=form, auth=aiohttp.BasicAuth(*auth) if auth else None) as response:
            return response.status, await response.text()
