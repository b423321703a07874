"""E-mail: mail in by an inbound-parse webhook or by polling an IMAP mailbox, replies out over SMTP, one thread.

Inbound, two ways, one parser (`mail_text.py`: new text only, HTML made safe, attachments listed):
- `POST /webhooks/email/inbound`, the raw MIME message as a form field: Mailgun's route
  forwarding (`body-mime`, signed `timestamp` + `token` → `signature` = HMAC-SHA256 with the
  webhook signing key) or SendGrid's Inbound Parse with "post the raw, full MIME message"
  (`email`; SendGrid cannot sign, so its URL carries HTTP Basic credentials). A request neither
  way authenticates gets 403 and nothing is stored.
- Polling an IMAP mailbox (`imap_host`): unseen mail is fetched with `BODY.PEEK[]`, committed,
  and only then marked `\\Seen`, so a crash in between re-reads it and the Message-ID makes the
  second reading a duplicate.

The customer is the From address. It counts as verified (and links the customer's identities
across channels) only when the receiving server's `Authentication-Results` (`authserv_id`)
says `dmarc=pass`; otherwise it is a claim, since anyone can write any From. Auto-replies,
bounces and list mail are never answered (no mail loops), nor is mail from Baton's own address.

Outbound is one thread in the customer's mail client: `Subject: Re: <their subject>`,
`In-Reply-To` their latest Message-ID, `References` the conversation's Message-IDs (theirs and
ours), and a `Message-ID` derived from the outbox item, so a re-send carries the same id. The
bot's replies carry `Auto-Submitted: auto-replied` (RFC 3834), which keeps autoresponders from
answering them. Python's `smtplib` and `imaplib` run on a worker thread (`asyncio.to_thread`);
no asyncio SMTP or IMAP client comes with Rasa, and a thread per send keeps the event loop free.
SMTP has no idempotency key: the channel is `at_most_once`, and a connection that drops after
the message data was sent is an unknown outcome, not retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import imaplib
import logging
import smtplib
import socket
import ssl
from base64 import b64decode
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any, List, Optional, Tuple

from aiohttp import web

from bot.channels.base import DeliveryFailed, DeliveryReceipt, DeliveryUncertain, OutboundChannel
from bot.channels.credentials import EmailCredentials
from bot.channels.mail_text import ParsedMail, parse_mail
from bot.channels.webhooks import Scrubber, provider_text, same_secret
from bot.conversation import ConversationFlow
from bot.domain import CustomerClaims, InboundMessage, OutboundMessage, SenderKind
from bot.store.conversations import ConversationStore

log = logging.getLogger(__name__)

NAME = "email"
MAX_REFERENCES = 20
RAW_FIELDS = ("body-mime", "email")   # Mailgun's MIME forwarding, SendGrid's raw Inbound Parse


class EmailChannel(OutboundChannel):
    name = NAME
    answers_in_turn = False
    at_most_once = True

    def __init__(self, credentials: EmailCredentials, flow: ConversationFlow, conversations: ConversationStore,
                 max_chars: int, scrub: Scrubber) -> None:
        self.credentials = credentials
        self.flow = flow
        self.conversations = conversations
        self.max_chars = max_chars
        self.scrub = scrub
        self.own_address = credentials.from_address.strip().lower()
        self.domain = self.own_address.rsplit("@", 1)[-1] or "baton.invalid"
        self._poller: Optional[asyncio.Task] = None

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        if self.credentials.imap_host:
            self._poller = asyncio.get_running_loop().create_task(self._poll_forever(), name="imap poller")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None

    # ---- inbound: the parsed mail, however it came -------------------------------------

    def inbound(self, mail: ParsedMail) -> Optional[InboundMessage]:
        """A parsed mail as Baton's inbound message; None for mail that must not be answered."""
        if not mail.sender or "@" not in mail.sender or mail.sender == self.own_address:
            return None
        if mail.automatic:
            log.info("email: not answering an automatic message (auto-reply, bounce or list mail)")
            return None
        text = provider_text(mail.text, self.max_chars) or f"(no text) {mail.subject}".strip()
        verified = mail.authenticated_by(self.credentials.authserv_id)
        claims = CustomerClaims(name=mail.sender_name, email=mail.sender, email_verified=verified)
        message_id = mail.message_id or "<sha256-" + hashlib.sha256(
            f"{mail.sender}\n{mail.subject}\n{mail.text}".encode("utf-8", "ignore")).hexdigest() + ">"
        metadata = {"email_subject": provider_text(mail.subject, 300)} if mail.subject else {}
        return InboundMessage(channel=NAME, external_id=mail.sender, text=text, channel_message_id=message_id[:200],
                              metadata=metadata, customer=claims)

    async def accept_raw(self, raw: bytes) -> bool:
        """Parse and commit one raw message; False when it is not for answering."""
        inbound = self.inbound(parse_mail(raw))
        if inbound is None:
            return False
        await self.flow.accept(inbound)
        return True

    # ---- inbound: the webhook ------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(f"/webhooks/{NAME}/", self.health)
        app.router.add_post(f"/webhooks/{NAME}/inbound", self.receive)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def receive(self, request: web.Request) -> web.Response:
        fields, raw = await self._form(request)
        if not (self._mailgun_signed(fields) or self._basic_auth(request)):
            log.warning("email: refused an inbound webhook that is neither signed nor authenticated")
            raise web.HTTPForbidden(text="the inbound webhook must be signed (Mailgun) or authenticated (Basic)")
        if raw is None:
            raise web.HTTPBadRequest(text="the raw MIME message is missing (field body-mime or email)")
        await self.accept_raw(raw)
        return web.Response(text="ok")

    async def _form(self, request: web.Request) -> Tuple[dict, Optional[bytes]]:
        """The form's small fields and the raw message, read as a stream under the mail size limit
        (the app's request limit is for chat messages, far smaller than a mail with attachments)."""
        if not request.content_type.startswith("multipart/"):
            raise web.HTTPBadRequest(text="expected multipart/form-data")
        reader = await request.multipart()
        fields: dict = {}
        raw: Optional[bytes] = None
        limit = self.credentials.max_message_bytes
        while True:
            part = await reader.next()
            if part is None:
                break
            name = getattr(part, "name", None) or ""
            data = bytearray()
            while True:
                chunk = await part.read_chunk(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) > limit:
                    raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(data))
            if name in RAW_FIELDS:
                raw = bytes(data)
            elif len(data) <= 4096:
                fields[name] = data.decode("utf-8", "replace")
        return fields, raw

    def _mailgun_signed(self, fields: dict) -> bool:
        key = self.credentials.webhook_signing_key
        timestamp, token, signature = fields.get("timestamp"), fields.get("token"), fields.get("signature")
        if not key or not (timestamp and token and signature):
            return False
        expected = hmac.new(key.encode("utf-8"), f"{timestamp}{token}".encode("utf-8"), hashlib.sha256).hexdigest()
        return same_secret(signature, expected)

    def _basic_auth(self, request: web.Request) -> bool:
        password = self.credentials.inbound_password
        header = request.headers.get("Authorization", "")
        if not password or not header.startswith("Basic "):
            return False
        try:
            user, _, given = b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return same_secret(given, password) and user == (self.credentials.inbound_username or user)

    # ---- inbound: the mailbox ------------------------------------------------------------

    async def _poll_forever(self) -> None:
        delay = self.credentials.poll_seconds
        while True:
            try:
                await self.poll_once()
                delay = self.credentials.poll_seconds
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = min(max(delay * 2, 1.0), 300.0)
                log.warning("email: the mailbox could not be read (%s); trying again in %.0fs",
                            self.scrub(f"{type(exc).__name__}: {exc}"), delay)
            await asyncio.sleep(delay)

    async def poll_once(self) -> int:
        """Fetch unseen mail, commit it, then mark it seen. Returns how many messages were read."""
        unseen = await asyncio.to_thread(self._fetch_unseen)
        for _, raw in unseen:
            await self.accept_raw(raw)
        if unseen:
            await asyncio.to_thread(self._mark_seen, [uid for uid, _ in unseen])
        return len(unseen)

    def _imap(self) -> imaplib.IMAP4:
        creds = self.credentials
        timeout = creds.timeout_seconds
        if creds.imap_security == "ssl":
            box: imaplib.IMAP4 = imaplib.IMAP4_SSL(creds.imap_host, creds.imap_port, timeout=timeout,
                                                   ssl_context=ssl.create_default_context())
        else:
            box = imaplib.IMAP4(creds.imap_host, creds.imap_port, timeout=timeout)
            if creds.imap_security == "starttls":
                box.starttls(ssl.create_default_context())
        box.login(creds.imap_username or creds.from_address, creds.imap_password or "")
        status, _ = box.select(creds.imap_folder)
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open folder {creds.imap_folder!r}")
        return box

    def _fetch_unseen(self) -> List[Tuple[bytes, bytes]]:
        box = self._imap()
        try:
            status, data = box.uid("SEARCH", None, "UNSEEN")
            if status != "OK":
                raise imaplib.IMAP4.error("SEARCH UNSEEN failed")
            found = []
            for uid in (data[0] or b"").split()[:50]:
                status, parts = box.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((p[1] for p in parts if isinstance(p, tuple) and len(p) > 1), None)
                if status == "OK" and raw:
                    found.append((uid, raw))
            return found
        finally:
            _quietly(box.logout)

    def _mark_seen(self, uids: List[bytes]) -> None:
        box = self._imap()
        try:
            for uid in uids:
                box.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        finally:
            _quietly(box.logout)

    # ---- outbound ----------------------------------------------------------------------

    async def send_text(self, external_id: str, text: str, message: OutboundMessage,
                        idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        mail = await self._compose(external_id, text, message, idempotency_key)
        await asyncio.to_thread(self._smtp_send, mail, external_id)
        return DeliveryReceipt(provider_message_id=mail["Message-ID"])

    async def send_image(self, external_id: str, message: OutboundMessage,
                         idempotency_key: Optional[str]) -> Optional[DeliveryReceipt]:
        text = "\n\n".join(t for t in (message.text, f"Image: {message.image}") if t)
        return await self.send_text(external_id, text, message, idempotency_key)

    async def deliver(self, external_id: str, message: OutboundMessage,
                      idempotency_key: Optional[str] = None) -> Optional[DeliveryReceipt]:
        if message.image and message.text and not message.buttons:
            return await self.send_image(external_id, message, idempotency_key)   # one mail, not two
        return await super().deliver(external_id, message, idempotency_key)

    async def _compose(self, to: str, text: str, message: OutboundMessage,
                       idempotency_key: Optional[str]) -> EmailMessage:
        creds = self.credentials
        summary = await self.conversations.summary(message.conversation_id)
        subject = str(summary.metadata.get("email_subject") or "Your message")
        thread = await self.conversations.thread_ids(message.conversation_id)
        theirs = [i for i in thread if i.startswith("<") and not i.startswith("<baton.")]
        mail = EmailMessage()
        sender_name = creds.from_name or creds.from_address
        if message.agent_name and message.sender is SenderKind.AGENT:
            sender_name = f"{message.agent_name} at {creds.from_name or self.domain}"
        mail["From"] = formataddr((sender_name, creds.from_address))
        mail["To"] = to
        mail["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
        mail["Date"] = formatdate(localtime=False)
        key = (idempotency_key or f"m{message.message_id}").replace("<", "").replace(">", "")
        mail["Message-ID"] = f"<baton.{key}.{message.message_id}@{self.domain}>"
        if theirs:
            mail["In-Reply-To"] = theirs[-1]
        references = [i for i in thread if i.startswith("<") and i != mail["Message-ID"]]
        if references:
            kept = references if len(references) <= MAX_REFERENCES else [references[0], *references[-(
                MAX_REFERENCES - 1):]]
            mail["References"] = " ".join(kept)
        if message.sender in (SenderKind.BOT, SenderKind.SYSTEM):
            mail["Auto-Submitted"] = "auto-replied"
        mail.set_content(text)
        return mail

    def _smtp_send(self, mail: EmailMessage, to: str) -> None:
        """One SMTP conversation; which step failed decides whether the server may have the message."""
        creds = self.credentials
        step = "connect"
        try:
            if creds.smtp_security == "ssl":
                server: smtplib.SMTP = smtplib.SMTP_SSL(creds.smtp_host, creds.smtp_port,
                                                        timeout=creds.timeout_seconds,
                                                        context=ssl.create_default_context())
            else:
                server = smtplib.SMTP(creds.smtp_host, creds.smtp_port, timeout=creds.timeout_seconds)
            with server:
                server.ehlo()
                if creds.smtp_security == "starttls":
                    server.starttls(context=ssl.create_default_context())
                    server.ehlo()
                if creds.smtp_username:
                    server.login(creds.smtp_username, creds.smtp_password or "")
                step = "envelope"
                code, reply = server.mail(creds.from_address)
                if code >= 300:
                    raise smtplib.SMTPSenderRefused(code, reply, creds.from_address)
                code, reply = server.rcpt(to)
                if code >= 300:
                    raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
                step = "data"
                code, reply = server.data(mail.as_bytes())
                if code >= 300:
                    raise smtplib.SMTPDataError(code, reply)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise self._refused(code, reply)
        except smtplib.SMTPResponseException as exc:
            raise self._refused(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPServerDisconnected, socket.timeout, OSError) as exc:
            if step == "data":
                raise DeliveryUncertain(self.scrub(
                    f"the mail server stopped answering ({type(exc).__name__}) after the message was sent, so it "
                    "may have been delivered; not re-sent automatically"))
            raise DeliveryFailed(self.scrub(f"the mail server could not be reached ({type(exc).__name__}: {exc})"))

    def _refused(self, code: int, reply: Any) -> DeliveryFailed:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        temporary = 400 <= code < 500
        what = "is unavailable" if temporary else "refused the message"
        return DeliveryFailed(self.scrub(f"the mail server {what} ({code} {text})"), retry=temporary)


def _quietly(call) -> None:
    try:
        call()
    except Exception:
        pass
