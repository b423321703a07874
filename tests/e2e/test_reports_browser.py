"""The reports screen in Chromium: today's real conversations (bot alone, handed off, answered,
resolved, rated through the widget's protocol) as charts and a per-agent table; earlier days seeded
as history so the screenshot shows a fortnight.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from playwright.async_api import Browser, expect

from bot.store.tables import Rating
from tests.e2e.test_takeover_browser import console_page
from tests.support import WebChatClient, add_user, conversation_id_of, screenshot_path

pytestmark = pytest.mark.browser


async def seed_history(baton, agent_ids) -> None:
    """Thirteen earlier days of facts, as the reporting listener would have written them, oldest first."""
    from bot.domain import InboundMessage, SenderKind
    from bot.store.conversations import MessageDraft

    store, conversations = baton.services.store, baton.services.conversations
    seeded = [(await conversations.record_inbound(InboundMessage("rest", f"seed-{uuid.uuid4().hex[:8]}", "seed")))
              .conversation.id for _ in range(40)]
    questions = await conversations.add_messages(seeded[0], [
        MessageDraft(SenderKind.SYSTEM, "How satisfied are you?", {"rating_request": {"question": "?", "scale": 5}})
        for _ in range(13 * 10)])
    rng = random.Random(18)
    now = datetime.now(timezone.utc)
    reasons = ["human_requested", "low_confidence", "always_human_intent", "repeated_fallback", "business_rule"]
    ratings = []
    for days_ago in range(13, 0, -1):
        day = now - timedelta(days=days_ago)
        opened = rng.sample(seeded, rng.randint(18, 40))
        for conversation_id in opened:
            await store.reporting.record("opened", conversation_id, at=day)
        for conversation_id in opened[:rng.randint(4, 10)]:
            agent = rng.choice(agent_ids)
            await store.reporting.record("handed_off", conversation_id, reason=rng.choice(reasons), at=day)
            await store.reporting.record("first_reply", conversation_id, agent_id=agent, value=rng.uniform(40, 400),
                                         at=day)
            await store.reporting.record("resolved", conversation_id, agent_id=agent, value=rng.uniform(300, 2400),
                                         detail={"handed_off": True}, at=day)
            ratings.append(Rating(conversation_id=seeded[0], request_message_id=questions[len(ratings)].id,
                                  agent_id=agent, score=rng.choice([3, 4, 4, 5, 5]), created_at=day))
    async with store.ratings.sessions() as session, session.begin():
        session.add_all(ratings)


async def test_reports_show_today_and_the_weeks_before(start_server, browser: Browser):
    baton = start_server()
    context, page, admin_id = await console_page(browser, baton, role="admin", display_name="Ari")
    customers = []
    try:
        for _ in range(2):   # the bot handles these alone
            client = await WebChatClient(baton, baton_protocol=True).connect()
            customers.append(client)
            await client.start_session()
            await client.say("hi")
            await client.replies_until_quiet()
        rated = await WebChatClient(baton, baton_protocol=True).connect()
        customers.append(rated)
        await rated.start_session()
        await rated.say("I want to talk to a person")
        await rated.replies_until_quiet()
        conversation_id = await conversation_id_of(baton, rated.session_id)
        item = page.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation_id}"]')
        await item.click()
        await page.get_by_test_id("claim").click()
        await page.get_by_test_id("composer").fill("Hi, Ari here; your refund is on its way.")
        await page.get_by_test_id("send").click()
        await page.get_by_test_id("resolve").click()
        await page.get_by_test_id("resolve-confirm").click()
        question = await rated.next("bot_uttered")
        while "rating_request" not in question[1]:
            question = await rated.next("bot_uttered")
        answer = await rated.sio.call("rate", {"message_id": question[1]["message_id"], "score": 5})
        assert answer == {"ok": True, "score": 5}
        await baton.settled()

        # Today, from the real conversations.
        await page.get_by_test_id("nav-reports").click()
        today = datetime.now(timezone.utc).date().isoformat()
        chart = page.get_by_test_id("chart-conversations")
        await expect(chart.locator(f'rect[data-label="{today}"][data-series="bot end to end"]')).to_have_attribute(
            "data-value", "2")
        await expect(chart.locator(f'rect[data-label="{today}"][data-series="handed to people"]')).to_have_attribute(
            "data-value", "1")
        await expect(page.get_by_test_id("total-conversations")).to_have_text("3")
        await expect(page.get_by_test_id("total-bot-share")).to_have_text("67%")
        await expect(page.get_by_test_id("total-satisfaction")).to_have_text("5.0 / 5 (1)")
        await expect(page.get_by_test_id("chart-reasons").locator("rect")).to_have_attribute(
            "data-label", "Customer asked for a human")
        ari = page.locator(f'[data-testid="report-agent"][data-agent-id="{admin_id}"]')
        await expect(ari.get_by_test_id("report-agent-satisfaction")).to_have_text("5.0 (1)")
        await expect(page.get_by_test_id("chart-first-reply").locator(f'rect[data-label="{today}"]')).to_have_count(1)

        # With two weeks of history, for the docs.
        ben = (await add_user(baton, "agent", display_name="Ben"))[2]
        cleo = (await add_user(baton, "agent", display_name="Cleo"))[2]
        await baton.acall(seed_history(baton, [admin_id, ben, cleo]))
        await page.get_by_test_id("reports-submit").click()
        await expect(chart.locator("rect")).to_have_count(28)   # 14 days, each with both kinds
        await expect(page.get_by_test_id("report-agent")).to_have_count(3)
        await expect(page.get_by_test_id("toast")).to_have_count(0, timeout=15_000)   # the handoff toast fades
        shot = screenshot_path("reports.png")
        await page.set_viewport_size({"width": 1280, "height": 1400})
        await page.screenshot(path=str(shot), full_page=True, animations="disabled")
        assert shot.stat().st_size > 30_000
        assert page.page_errors == []  # type: ignore[attr-defined]
    finally:
        for client in customers:
            await client.close()
        await context.close()
