"""An e-mail as the customer's words: the new text only, HTML made into safe plain text, attachments listed.

Used by the e-mail channel for mail from IMAP and from inbound-parse webhooks alike. Mail
clients quote the whole thread under every reply; agents need what is new, so quoted history
is cut: `>` lines, the "On … wrote:" line and everything after it (in several languages),
Outlook's "-----Original Message-----" and "From: … Sent: …" blocks, and the signature after
"-- ". HTML is never passed on: scripts, styles and quoted blocks (`<blockquote>`, Gmail's
`gmail_quote`, Outlook's reply header) are dropped and the rest becomes text, links as
"text (url)".
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import List, Optional, Tuple

# "On Tue, 3 Dec 2026 at 10:00, Ada <ada@example.com> wrote:" and its siblings in other languages.
# (German and Dutch name the writer after the verb: "Am … schrieb Ada <ada@example.com>:".)
_ATTRIBUTION = re.compile(
    r"^\s*(on\b.{0,300}\bwrote|am\b.{0,300}\bschrieb\b.{0,300}|le\b.{0,300}\ba écrit"
    r"|el\b.{0,300}\bescribió|op\b.{0,300}\bschreef\b.{0,300}|il\b.{0,300}\bha scritto)\s*:\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine)\s*-{2,}\s*$",
                       re.IGNORECASE)
_HEADER_LINE = re.compile(r"^\s*\*?(from|von|de)\s*:\*?\s+\S", re.IGNORECASE)
_SENT_LINE = re.compile(r"^\s*\*?(sent|date|gesendet|envoyé|enviado)\s*:\*?\s+\S", re.IGNORECASE)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")

BLOCK_TAGS = {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
              "hr", "section", "article", "header", "footer", "blockquote", "dd", "dt"}
DROPPED_TAGS = {"script", "style", "head", "title", "template", "noscript", "svg", "object", "iframe"}
QUOTE_MARKERS = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "divrplyfwdmsg", "appendonsend",
                 "protonmail_quote", "x_gmail_quote")
VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: List[str] = []
        self._skip: List[str] = []          # open elements whose content is dropped
        self._links: List[Tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        tag = tag.lower()
        attributes = {k.lower(): (v or "") for k, v in attrs}
        marker = (attributes.get("class", "") + " " + attributes.get("id", "")).lower()
        if self._skip:
            if tag not in VOID_TAGS:
                self._skip.append(tag)
            return
        if tag in DROPPED_TAGS or tag == "blockquote" or any(m in marker for m in QUOTE_MARKERS):
            if tag not in VOID_TAGS:
                self._skip.append(tag)
            return
        if tag in BLOCK_TAGS:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")
        if tag == "a":
            self._links.append((attributes.get("href", ""), len(self.out)))
        if tag == "img" and attributes.get("alt"):
            self.out.append(f"[image: {attributes['alt']}]")

    def handle_startendtag(self, tag: str, attrs) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if self._skip:
            if tag in self._skip:
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        if tag == "a" and self._links:
            href, start = self._links.pop()
            label = "".join(self.out[start:]).strip()
            if href.lower().startswith(("http://", "https://", "mailto:")) and href not in label:
                self.out.append(f" ({href})")
        if tag in BLOCK_TAGS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Safe plain text from an HTML mail body: no markup survives, quoted blocks are dropped."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted history and the signature cut away."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: List[str] = []
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if line in ("-- ", "--") or _ORIGINAL.match(line) or _ATTRIBUTION.match(line):
            break
        # Gmail wraps a long attribution: "On …, Ada <ada@example.com>" / "wrote:"
        if following.strip().lower() in ("wrote:", "schrieb:", "a écrit :", "escribió:") and re.match(
                r"^\s*(on|am|le|el)\b", line, re.IGNORECASE):
            break
        if _HEADER_LINE.match(line) and any(_SENT_LINE.match(n) for n in lines[i + 1:i + 4]):
            break
        if _UNDERSCORES.match(line) and any(_HEADER_LINE.match(n) for n in lines[i + 1:i + 3]):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int

    def describe(self) -> str:
        size = f"{self.size / 1024:.0f} KB" if self.size >= 1024 else f"{self.size} bytes"
        return f"[attachment: {self.filename} ({self.content_type}, {size})]"


@dataclass(frozen=True)
class ParsedMail:
    message_id: Optional[str]
    in_reply_to: Optional[str]
    references: List[str]
    sender: str                     # the From address, lower-cased
    sender_name: Optional[str]
    subject: str
    text: str                       # the new text, quoted history removed, attachments listed
    attachments: List[Attachment] = field(default_factory=list)
    automatic: bool = False         # an auto-reply, bounce or list mail: never answered
    authentication_results: List[str] = field(default_factory=list)

    def authenticated_by(self, authserv_id: Optional[str]) -> bool:
        """The receiving server `authserv_id` found the sender's domain aligned and authentic (DMARC pass).

        RFC 8601: a receiving server removes Authentication-Results headers that claim its own
        authserv-id from incoming mail, so only its own verdict carries that id.
        """
        if not authserv_id:
            return False
        for header in self.authentication_results:
            server, _, verdict = header.partition(";")
            if server.strip().split()[0:1] == [authserv_id] and re.search(r"\bdmarc=pass\b", verdict, re.I):
                return True
        return False


def _ids(value: Optional[str]) -> List[str]:
    return re.findall(r"<[^<>\s]+>", value or "")


def _body(message: EmailMessage) -> str:
    plain = message.get_body(preferencelist=("plain",))
    if plain is not None:
        return strip_quoted(plain.get_content())
    html = message.get_body(preferencelist=("html",))
    if html is not None:
        return strip_quoted(html_to_text(html.get_content()))
    return ""


def _attachments(message: EmailMessage) -> List[Attachment]:
    found = []
    for part in message.iter_attachments():
        filename = part.get_filename()
        if not filename and part.get_content_maintype() == "multipart":
            continue
        payload = part.get_payload(decode=True) or b""
        found.append(Attachment(filename or "(unnamed)", part.get_content_type(), len(payload)))
    return found


def _automatic(message: EmailMessage, sender: str) -> bool:
    auto = (message.get("Auto-Submitted") or "no").strip().lower()
    precedence = (message.get("Precedence") or "").strip().lower()
    local = sender.split("@")[0]
    return (auto != "no" or precedence in ("bulk", "junk", "list", "auto_reply")
            or bool(message.get("X-Autoreply") or message.get("X-Autorespond"))
            or local in ("mailer-daemon", "postmaster", "noreply", "no-reply"))


def parse_mail(raw: bytes) -> ParsedMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    name, address = parseaddr(str(message.get("From") or ""))
    if not address:
        addresses = getaddresses([str(message.get("Sender") or "")])
        address = addresses[0][1] if addresses else ""
    sender = address.strip().lower()
    attachments = _attachments(message)
    text = _body(message)
    if attachments:
        text = "\n".join([text, *(a.describe() for a in attachments)]).strip()
    references = _ids(str(message.get("References") or ""))
    message_ids = _ids(str(message.get("Message-ID") or ""))
    reply_to = _ids(str(message.get("In-Reply-To") or ""))
    return ParsedMail(message_id=message_ids[0] if message_ids else None,
                      in_reply_to=reply_to[0] if reply_to else None, references=references, sender=sender,
                      sender_name=name.strip() or None, subject=str(message.get("Subject") or "").strip(),
                      text=text, attachments=attachments, automatic=_automatic(message, sender),
                      authentication_results=[str(h) for h in message.get_all("Authentication-Results") or []])
