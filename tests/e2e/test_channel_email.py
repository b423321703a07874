"""E-mail end to end: mail in through a signed inbound-parse webhook and an IMAP mailbox, replies out over
SMTP in one thread, with a local SMTP server, a local IMAP server and the real model."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Optional

import pytest

from tests.e2e.channel_support import (
    Agent, conversation_of, delivery_of, eventually, messages, settle, start_baton, stop_baton,
)
from tests.providers.mail_servers import FakeImap, FakeSmtp, mailgun_fields, post_inbound
from tests.support import http_session

SUPPORT = "support@northwind.test"
SIGNING_KEY = "mailgun-webhook-signing-key"
SENDGRID = ("sendgrid", "inbound-basic-password")
AUTHSERV = "mx.northwind.test"
REST_TOKEN = "shop-backend-token"


def address() -> str:
    return f"ada.{uuid.uuid4().hex[:8]}@customer.test"


def customer_mail(sender: str, text: Optional[str] = None, subject: str = "Help with my order",
                  html: Optional[str] = None, in_reply_to: Optional[str] = None, references: str = "",
                  authenticated: bool = True, attachment: Optional[tuple] = None, **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = formataddr(("Ada Lovelace", sender))
    mail["To"] = SUPPORT
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain="customer.test")
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = (references + " " + in_reply_to).strip()
    if authenticated:
        domain = sender.split("@")[1]
        mail["Authentication-Results"] = (f"{AUTHSERV}; dkim=pass header.d={domain}; spf=pass "
                                          f"smtp.mailfrom={domain}; dmarc=pass header.from={domain}")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    if text is not None:
        mail.set_content(text)
    if html is not None:
        if text is None:
            mail.set_content(html, subtype="html")
        else:
            mail.add_alternative(html, subtype="html")
    if attachment:
        mail.add_attachment(attachment[1], maintype="application", subtype="pdf", filename=attachment[0])
    return mail


@pytest.fixture(scope="module")
async def world(tmp_path_factory, faulty_engine, model_path):
    smtp = await FakeSmtp().start()
    imap = await FakeImap("support", "imap-password").start()
    live = await start_baton(tmp_path_factory.mktemp("email"), {"email": {
        "from_address": SUPPORT, "from_name": "Northwind", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
        "smtp_security": "none", "imap_host": "127.0.0.1", "imap_port": imap.port, "imap_security": "none",
        "imap_username": "support", "imap_password": "imap-password", "poll_seconds": 0.3,
        "webhook_signing_key": SIGNING_KEY, "inbound_username": SENDGRID[0], "inbound_password": SENDGRID[1],
        "authserv_id": AUTHSERV, "timeout_seconds": 1.0}}, faulty_engine, model_path, rest_token=REST_TOKEN)
    yield smtp, imap, live
    await stop_baton(live)
    await smtp.stop()
    await imap.stop()


async def mailgun(live, mail: EmailMessage) -> tuple:
    return await post_inbound(f"{live.url}/webhooks/email/inbound", mailgun_fields(mail.as_bytes(), SIGNING_KEY))


async def test_a_mail_thread_bot_reply_handoff_and_agent_reply_over_smtp(world):
    smtp, _, live = world
    customer = address()
    first = customer_mail(customer, "Hello there")
    assert (await mailgun(live, first))[0] == 200

    [greeting] = await smtp.wait_for(lambda m: m["to"] == [customer])
    reply = greeting["mail"]
    assert reply["Subject"] == "Re: Help with my order" and reply["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in reply["References"] and reply["Auto-Submitted"] == "auto-replied"
    assert greeting["from"] == SUPPORT and "1: Track my order" in greeting["text"]   # buttons as numbered lines

    quoted = ("I want to talk to a person\n\nOn Tue, 3 Dec 2026 at 10:00, Northwind <support@northwind.test>\n"
              "wrote:\n> " + greeting["text"].replace("\n", "\n> ") + "\n")
    second = customer_mail(customer, quoted, subject="Re: Help with my order", in_reply_to=reply["Message-ID"],
                           references=first["Message-ID"])
    assert (await mailgun(live, second))[0] == 200
    notice = (await smtp.wait_for(lambda m: m["to"] == [customer], count=2))[1]["mail"]
    assert "queue" in notice.get_body(("plain",)).get_content()
    assert notice["In-Reply-To"] == second["Message-ID"]
    assert notice["References"].split() == [first["Message-ID"], reply["Message-ID"], second["Message-ID"]]

    conversation_id = await conversation_of(live, "email", customer)
    stored = await messages(live, conversation_id)
    assert [m["text"] for m in stored if m["sender"] == "customer"] == ["Hello there", "I want to talk to a person"]

    async with Agent(live) as sam:
        status, _ = await sam.reply(conversation_id, "Hello Ada,\n\nSam here; I'll check your order now.")
        assert status == 200
    [answer] = await smtp.wait_for(lambda m: m["to"] == [customer] and "Sam here" in m["text"])
    mail = answer["mail"]
    assert mail["From"] == "Sam at Northwind <support@northwind.test>" and mail["Auto-Submitted"] is None
    assert mail["In-Reply-To"] == second["Message-ID"] and mail["References"].startswith(first["Message-ID"])
    delivery = await eventually(lambda: _sent(live, conversation_id, answer["text"]))
    assert delivery["attempts"] == 1 and delivery["error"] is None


async def _sent(live, conversation_id, text):
    delivery = await delivery_of(live, conversation_id, text)
    return delivery if delivery and delivery["status"] == "sent" else None


async def test_imap_mail_in_html_is_read_as_safe_text_without_quotes_and_marked_seen(world):
    smtp, imap, live = world
    customer = address()
    html = ("<html><head><style>p {color: red}</style><script>alert('x')</script></head><body>"
            "<p>Where is my order <b>12345</b>?</p><p>Details: <a href='https://shop.test/o/12345'>my order</a></p>"
            "<div class='gmail_quote'>On Mon, Northwind wrote:<blockquote>Old text</blockquote></div></body></html>")
    uid = imap.deliver(customer_mail(customer, html=html, attachment=("receipt.pdf", b"%PDF-1.4 " * 300)).as_bytes())
    await smtp.wait_for(lambda m: m["to"] == [customer])
    conversation_id = await conversation_of(live, "email", customer)
    [text] = [m["text"] for m in await messages(live, conversation_id) if m["sender"] == "customer"]
    assert text == ("Where is my order 12345?\n\nDetails: my order (https://shop.test/o/12345)\n"
                    "[attachment: receipt.pdf (application/pdf, 3 KB)]")
    await eventually(lambda: _async(imap.seen(uid)))


async def _async(value):
    return value


async def test_inbound_mail_that_is_not_signed_or_authenticated_gets_403_and_nothing_is_stored(world):
    _, _, live = world
    customer = address()
    raw = customer_mail(customer, "hello").as_bytes()
    url = f"{live.url}/webhooks/email/inbound"
    forged = {**mailgun_fields(raw, "not-the-signing-key")}
    assert (await post_inbound(url, {"body-mime": raw}))[0] == 403
    assert (await post_inbound(url, forged))[0] == 403
    assert (await post_inbound(url, {"email": raw}, auth=(SENDGRID[0], "wrong")))[0] == 403
    assert await conversation_of(live, "email", customer) is None
    # SendGrid's raw Inbound Parse with its Basic credentials is accepted.
    assert (await post_inbound(url, {"email": raw, "envelope": "{}"}, auth=SENDGRID))[0] == 200
    assert await eventually(lambda: conversation_of(live, "email", customer))


async def test_auto_replies_are_never_answered(world):
    smtp, _, live = world
    customer = address()
    assert (await mailgun(live, customer_mail(customer, "I am out of office", Auto_Submitted="auto-replied")))[0] == 200
    await settle(live)
    assert await conversation_of(live, "email", customer) is None
    assert not [m for m in smtp.sent if m["to"] == [customer]]


async def test_a_mail_delivered_twice_and_also_found_in_the_mailbox_is_stored_once(world):
    smtp, imap, live = world
    customer = address()
    mail = customer_mail(customer, "Hello there")
    for _ in range(2):
        assert (await mailgun(live, mail))[0] == 200
    uid = imap.deliver(mail.as_bytes())
    await eventually(lambda: _async(imap.seen(uid)))
    await smtp.wait_for(lambda m: m["to"] == [customer])
    await settle(live)
    stored = await messages(live, await conversation_of(live, "email", customer))
    assert [m["sender"] for m in stored].count("customer") == 1
    assert len([m for m in smtp.sent if m["to"] == [customer]]) == len(stored) - 1


async def test_after_a_mail_server_outage_the_reply_is_delivered_exactly_once(world):
    smtp, _, live = world
    customer = address()
    await mailgun(live, customer_mail(customer, "I want to talk to a person"))
    await smtp.wait_for(lambda m: m["to"] == [customer])
    conversation_id = await conversation_of(live, "email", customer)
    async with Agent(live) as sam:
        await sam.reply(conversation_id, "Looking into it.")
        await smtp.wait_for(lambda m: m["to"] == [customer] and m["text"] == "Looking into it.")
        refused_before = smtp.refused
        smtp.outage = 2
        await sam.reply(conversation_id, "Your refund was issued today.")
    await smtp.wait_for(lambda m: m["text"] == "Your refund was issued today.")
    delivery = await eventually(lambda: _sent(live, conversation_id, "Your refund was issued today."))
    await settle(live)
    assert smtp.refused - refused_before == 2 and delivery["attempts"] == 3
    assert len([m for m in smtp.sent if m["text"] == "Your refund was issued today."]) == 1


async def test_an_authenticated_address_links_to_the_shops_verified_customer_and_a_claimed_one_does_not(world):
    smtp, _, live = world
    customer = address()
    async with http_session() as http:
        async with http.post(f"{live.url}/webhooks/rest/webhook", headers={"Authorization": f"Bearer {REST_TOKEN}"},
                             json={"sender": f"shop-{uuid.uuid4().hex[:8]}", "message": "hello",
                                   "metadata": {"customer_email": customer, "customer_name": "Ada"}}) as response:
            assert response.status == 200
    await mailgun(live, customer_mail(customer, "I want to talk to a person"))
    await smtp.wait_for(lambda m: m["to"] == [customer])
    conversation_id = await conversation_of(live, "email", customer)
    async with Agent(live) as sam:
        context = await sam.context(conversation_id)
        assert context["customer"]["email"] == customer and context["customer"]["email_verified"]
        assert {i["channel"] for i in context["customer"]["identities"]} == {"rest", "email"}
        assert [c["channel"] for c in context["earlier_conversations"]] == ["rest"]

        # The same From without the receiving server's DMARC pass is only a claim: no link.
        stranger = address()
        async with http_session() as http:
            async with http.post(f"{live.url}/webhooks/rest/webhook",
                                 headers={"Authorization": f"Bearer {REST_TOKEN}"},
                                 json={"sender": f"shop-{uuid.uuid4().hex[:8]}", "message": "hello",
                                       "metadata": {"customer_email": stranger}}) as response:
                assert response.status == 200
        await mailgun(live, customer_mail(stranger, "I want to talk to a person", authenticated=False))
        await smtp.wait_for(lambda m: m["to"] == [stranger])
        spoofed = await sam.context(await conversation_of(live, "email", stranger))
        assert spoofed["earlier_conversations"] == [] and not spoofed["customer"]["email_verified"]
