"""What provider channels make of customers' messages and of Baton's replies, without a server."""

from __future__ import annotations

from email.message import EmailMessage

from bot.channels.base import text_with_options
from bot.channels.mail_text import html_to_text, parse_mail, strip_quoted
from bot.channels.meta import MAX_QUICK_REPLIES, MetaChannel, message_payload
from bot.channels.telegram import MAX_CALLBACK_DATA, chunks, derived_secret, inline_keyboard, update_text
from bot.channels.webhooks import Scrubber, provider_text
from bot.domain import OutboundMessage, SenderKind

BUTTONS = [{"title": "Track my order", "payload": "/order_status"}, {"title": "Returns", "payload": "/return_policy"}]


def outbound(text: str = "Hi!", buttons=None, image=None) -> OutboundMessage:
    return OutboundMessage(1, 2, SenderKind.BOT, text=text, buttons=list(buttons or []), image=image)


# ---- e-mail ------------------------------------------------------------------------------

def test_gmail_attribution_and_quoted_lines_are_cut():
    text = ("Yes, that's the one.\n\nOn Tue, 3 Dec 2026 at 10:00, Northwind Support <support@northwind.test>\n"
            "wrote:\n> Is it order 12345?\n>\n> Northwind")
    assert strip_quoted(text) == "Yes, that's the one."


def test_outlook_headers_and_original_message_blocks_are_cut():
    outlook = "Thanks!\n\n________________________________\nFrom: Northwind <s@n.test>\nSent: Monday\nSubject: x\n\nold"
    assert strip_quoted(outlook) == "Thanks!"
    assert strip_quoted("Fine\n-----Original Message-----\nFrom: a\n") == "Fine"
    assert strip_quoted("Danke\n\nAm 3. Dez. 2026 um 10:00 schrieb Northwind <s@n.test>:\n> alt") == "Danke"


def test_inline_text_survives_and_the_signature_is_cut():
    assert strip_quoted("> question one\nAnswer one\n> question two\nAnswer two\n-- \nAda\n+44 20") == \
        "Answer one\nAnswer two"
    assert strip_quoted("From the warehouse, I mean.") == "From the warehouse, I mean."


def test_html_becomes_safe_text_with_links_and_without_scripts_or_quotes():
    html = ("<html><head><title>t</title><style>b{}</style></head><body><script>steal()</script>"
            "<p>Hello &amp; thanks<br>for <b>helping</b></p><ul><li>one</li><li>two</li></ul>"
            "<p><a href='https://shop.test/x'>the order</a> <a href='javascript:evil()'>click</a></p>"
            "<img src='x' onerror='evil()' alt='logo'><blockquote type='cite'>old reply</blockquote>"
            "<div id='divRplyFwdMsg'>From: us</div></body></html>")
    text = html_to_text(html)
    assert text == "Hello & thanks\nfor helping\n\n- one\n\n- two\n\nthe order (https://shop.test/x) click\n[image: logo]"
    assert "<" not in text and "steal" not in text and "old reply" not in text and "javascript" not in text


def test_a_mail_is_parsed_with_its_thread_ids_attachments_and_authentication():
    mail = EmailMessage()
    mail["From"] = "Ada Lovelace <Ada@Example.TEST>"
    mail["Subject"] = "Re: order"
    mail["Message-ID"] = "<two@example.test>"
    mail["In-Reply-To"] = "<baton.1@shop.test>"
    mail["References"] = "<one@example.test> <baton.1@shop.test>"
    mail["Authentication-Results"] = "mx.shop.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test"
    mail.set_content("New words\n\n> old words")
    mail.add_attachment(b"x" * 2048, maintype="image", subtype="png", filename="photo.png")
    parsed = parse_mail(mail.as_bytes())
    assert parsed.sender == "ada@example.test" and parsed.sender_name == "Ada Lovelace"
    assert parsed.references == ["<one@example.test>", "<baton.1@shop.test>"]
    assert parsed.text == "New words\n[attachment: photo.png (image/png, 2 KB)]"
    assert parsed.authenticated_by("mx.shop.test")
    assert not parsed.authenticated_by("mx.other.test") and not parsed.authenticated_by(None)
    assert not parsed.automatic


def test_a_dmarc_failure_or_a_foreign_verdict_does_not_verify_the_sender():
    mail = EmailMessage()
    mail["From"] = "ada@example.test"
    mail["Authentication-Results"] = "mx.shop.test; dmarc=fail header.from=example.test"
    mail["Authentication-Results"] = "evil.test; dmarc=pass"
    mail.set_content("hi")
    assert not parse_mail(mail.as_bytes()).authenticated_by("mx.shop.test")


def test_bounces_and_auto_replies_are_automatic():
    for header, value in (("Auto-Submitted", "auto-replied"), ("Precedence", "bulk"), ("X-Autoreply", "yes")):
        mail = EmailMessage()
        mail["From"] = "ada@example.test"
        mail[header] = value
        mail.set_content("Out of office")
        assert parse_mail(mail.as_bytes()).automatic, header
    bounce = EmailMessage()
    bounce["From"] = "MAILER-DAEMON@mx.example.test"
    bounce.set_content("Undeliverable")
    assert parse_mail(bounce.as_bytes()).automatic


# ---- degrading rich replies ----------------------------------------------------------------

def test_text_only_channels_get_numbered_options():
    assert text_with_options("Pick one:", BUTTONS) == "Pick one:\n1: Track my order\n2: Returns"


def test_telegram_buttons_are_an_inline_keyboard_one_a_row():
    markup = inline_keyboard(BUTTONS + [{"title": "Long", "payload": "/" + "x" * 100}]).to_python()
    rows = markup["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [["Track my order"], ["Returns"], ["Long"]]
    assert rows[0][0]["callback_data"] == "/order_status"
    assert rows[2][0]["callback_data"] == "Long"   # a payload over 64 bytes would be refused: the title goes
    assert all(len(r[0]["callback_data"].encode()) <= MAX_CALLBACK_DATA for r in rows)


def test_telegram_long_texts_are_split_at_line_breaks_and_attachments_listed():
    text = ("line\n" * 1500).strip()
    parts = chunks(text)
    assert len(parts) == 2 and all(len(p) <= 4096 for p in parts) and "\n".join(parts) == text
    assert update_text({"caption": "see", "photo": [{}], "location": {"latitude": 1.5, "longitude": 2}}) == \
        "see\n[photo]\n[location: 1.5, 2]"


def test_meta_buttons_are_quick_replies_and_too_many_become_numbered_lines():
    payload = message_payload(outbound("Pick", BUTTONS), "Pick")
    assert payload == {"text": "Pick", "quick_replies": [
        {"content_type": "text", "title": "Track my order", "payload": "/order_status"},
        {"content_type": "text", "title": "Returns", "payload": "/return_policy"}]}
    many = [{"title": f"Option {i}", "payload": f"/o{i}"} for i in range(MAX_QUICK_REPLIES + 1)]
    degraded = message_payload(outbound("Pick", many), "Pick")
    assert "quick_replies" not in degraded and degraded["text"].endswith(f"12: Option {MAX_QUICK_REPLIES}")


def test_meta_events_become_one_message_each_and_echoes_are_skipped():
    channel = MetaChannel.__new__(MetaChannel)
    channel.name, channel.max_chars = "facebook", 4000
    body = {"object": "page", "entry": [{"messaging": [
        {"sender": {"id": "1"}, "message": {"mid": "m1", "text": "hi"}},
        {"sender": {"id": "1"}, "message": {"mid": "m2", "text": "Returns", "quick_reply": {"payload": "/return_policy"}}},
        {"sender": {"id": "1"}, "message": {"mid": "m3", "attachments": [{"type": "image", "payload": {"url": "https://x/i.png"}}]}},
        {"sender": {"id": "9"}, "message": {"mid": "m4", "text": "from the page", "is_echo": True}},
        {"sender": {"id": "1"}, "postback": {"title": "Start", "payload": "/greet", "mid": "m5"}}]}]}
    inbound = [channel.inbound(e) for e in MetaChannel.events(body)]
    assert [(i.channel_message_id, i.text) for i in inbound if i] == [
        ("m1", "hi"), ("m2", "/return_policy"), ("m3", "[attachment: image https://x/i.png]"), ("m5", "/greet")]
    assert inbound[3] is None


# ---- the customer's text, and secrets ---------------------------------------------------------

def test_provider_text_is_made_storable_and_cut_with_a_mark():
    assert provider_text("  a\x00b  ", 100) == "ab"
    assert provider_text("x" * 50, 20) == "x" * 16 + " […]"
    assert provider_text("bad \ud800 surrogate", 100) == "bad  surrogate"


def test_secrets_are_scrubbed_from_error_texts():
    scrub = Scrubber(["page-token-123", None, "ab"])
    assert scrub("GET /me/messages?access_token=page-token-123 failed") == "GET /me/messages?access_token=*** failed"
    secret = derived_secret("123:ABC")
    assert len(secret) == 64 and set(secret) <= set("0123456789abcdef") and "123:ABC" not in secret
