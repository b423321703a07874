"""Search and browse conversations over the HTTP API, on SQLite and PostgreSQL: by name, e-mail, text
and order number; filtered by status, channel, reason, assignee, tag and date; paged; bad input refused.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import List

import pytest

from bot.identity import sign_customer_id
from tests.support import api, http_session, rest


async def found(http, server, **query) -> List[int]:
    status, body = await api(http, server, "/api/search/conversations", params=query)
    assert status == 200, body
    return [c["id"] for c in body["conversations"]]


async def conversation_of(http, server, sender: str) -> dict:
    _, body = await api(http, server, f"/api/conversations?channel=rest&external_id={sender}&status=bot,queued,assigned,resolved")
    [conversation] = body["conversations"]
    return conversation


async def test_search_by_who_what_and_order_number(server):
    from agent_console.seed import seed_demo

    await server.acall(seed_demo(server.services.store.catalogue, server.services.accounts))
    tag = uuid.uuid4().hex[:8]
    async with http_session() as http:
        zed = f"rest-{uuid.uuid4().hex[:8]}"
        await rest(http, server, zed, f"my parcel Qx-{tag} never came",
                   metadata={"customer_name": f"Zed Zimmer {tag}", "customer_email": f"zed-{tag}@example.com"})
        zed_id = (await conversation_of(http, server, zed))["id"]
        # Ada (her shop id signed) never mentions her older order 12001: it still finds her.
        ada = f"rest-{uuid.uuid4().hex[:8]}"
        await rest(http, server, ada, f"hello again {tag}", metadata={
            "customer_id": "C-1001", "customer_hash": sign_customer_id(server.settings.identity_secret, "C-1001")})
        ada_id = (await conversation_of(http, server, ada))["id"]
        percent = f"rest-{uuid.uuid4().hex[:8]}"
        await rest(http, server, percent, f"discount 50%off-{tag} please")
        percent_id = (await conversation_of(http, server, percent))["id"]
        other = f"rest-{uuid.uuid4().hex[:8]}"
        await rest(http, server, other, f"discount 50Xoff-{tag} please")

        assert await found(http, server, q=f"zimmer {tag}".upper()) == [zed_id]          # name, any case
        assert await found(http, server, q=f"zed-{tag}@example") == [zed_id]            # claimed e-mail
        assert await found(http, server, q=f"qx-{tag} NEVER") == [zed_id]               # words said
        assert ada_id in await found(http, server, q="12001")                           # her order
        assert zed_id not in await found(http, server, q="12001")
        assert await found(http, server, q=f"50%off-{tag}") == [percent_id]             # % is a character
        assert await found(http, server, q=f"50_off-{tag}") == []                       # _ too


async def test_browse_resolved_ones_with_filters_and_pages(server):
    tag = uuid.uuid4().hex[:8]
    async with http_session() as http:
        senders = [f"rest-{uuid.uuid4().hex[:8]}" for _ in range(3)]
        for sender in senders:
            await rest(http, server, sender, f"I want to talk to a person {tag}")
        ids = [(await conversation_of(http, server, s))["id"] for s in senders]
        status, me = await api(http, server, "/api/me")
        agent_id = me["user"]["id"]
        for conversation_id in ids[:2]:
            status, body = await api(http, server, f"/api/conversations/{conversation_id}/claim", "POST")
            assert status == 200, body
        status, body = await api(http, server, f"/api/conversations/{ids[0]}/resolve", "POST",
                                 json={"closing_message": "All sorted, bye!"})
        assert status == 200 and body["conversation"]["status"] == "resolved", body

        assert await found(http, server, q=tag, status="resolved") == [ids[0]]
        assert set(await found(http, server, q=tag, status="queued,assigned")) == set(ids[1:])
        assert await found(http, server, q=tag, assignee="none") == [ids[2]]
        assert set(await found(http, server, q=tag, assignee=str(agent_id))) == set(ids[:2])
        assert set(await found(http, server, q=tag, channel="rest", reason="human_requested")) == set(ids)
        assert await found(http, server, q=tag, channel="webchat") == []
        today = datetime.now(timezone.utc).date()
        assert set(await found(http, server, q=tag, **{"from": today.isoformat(), "to": today.isoformat()})) == set(ids)
        assert await found(http, server, q=tag, **{"to": (today - timedelta(days=1)).isoformat()}) == []
        # Newest activity first, a page at a time.
        status, first = await api(http, server, "/api/search/conversations", params={"q": tag, "limit": "2"})
        assert first["more"] is True and len(first["conversations"]) == 2 and "rest" in first["channels"]
        status, rest_page = await api(http, server, "/api/search/conversations",
                                      params={"q": tag, "limit": "2", "offset": "2"})
        assert rest_page["more"] is False and len(rest_page["conversations"]) == 1
        everything = [c["id"] for c in first["conversations"] + rest_page["conversations"]]
        assert sorted(everything) == sorted(ids) and everything[0] == ids[0]   # resolved last: the newest activity


@pytest.mark.parametrize("query,code", [
    ({"status": "sleeping"}, "bad_status"), ({"from": "2026-13-01"}, "bad_from"), ({"to": "yesterday"}, "bad_to"),
    ({"limit": "lots"}, "bad_limit"), ({"q": "x" * 201}, "bad_q"), ({"assignee": "me"}, "bad_assignee"),
    ({"q": "nul\x00byte"}, "bad_q"),
])
async def test_bad_search_input_is_a_clear_400(server, query, code):
    async with http_session() as http:
        status, body = await api(http, server, "/api/search/conversations", params=query)
    assert status == 400 and body["error"] == code and body["message"], body
