"""The admin's settings over the HTTP API (SQLite and PostgreSQL): applied without a restart, audited;
users deleted and passwords reset by the rules."""

from __future__ import annotations

import asyncio
import uuid

from tests.support import AgentClient, add_user, api, http_session, login, rest


async def test_operations_settings_take_effect_at_once_and_are_audited(start_server):
    server = start_server()
    async with http_session() as http:
        status, body = await api(http, server, "/api/settings/operations")
        assert status == 200 and body["settings"]["business_hours"] == {} and body["settings"]["auto_assign"] is False
        # Closed all week (a Sunday minute aside): the next handoff says so, without a restart.
        status, body = await api(http, server, "/api/settings/operations", "PUT", json={
            "business_hours": {"sun": "00:00-00:01"}, "business_timezone": "UTC",
            "wait_texts": {"handoff_closed": "We're out{next_opening}. You're number {position}; leave your e-mail."}})
        assert status == 200, body
        notice = (await rest(http, server, f"rest-{uuid.uuid4().hex[:8]}", "I want to talk to a person"))[-1]
        assert notice["text"].startswith("We're out; we're back Sunday at 00:00 (UTC). You're number 1")
        # Auto-assignment switched on live: the next handoff goes to the online agent.
        username, password, agent_id = await add_user(server, "agent")
        agent = await AgentClient(server, await login(http, server, username, password)).connect()
        try:
            await agent.wait_for("queue")
            status, body = await api(http, server, "/api/settings/operations", "PUT",
                                     json={"auto_assign": True, "business_hours": {}})
            assert status == 200 and body["settings"]["auto_assign"] is True
            sender = f"rest-{uuid.uuid4().hex[:8]}"
            await rest(http, server, sender, "I want to talk to a person")
            await server.settled()
            _, found = await api(http, server, f"/api/conversations?channel=rest&external_id={sender}&status=assigned")
            assert [c["assignee"]["id"] for c in found["conversations"]] == [agent_id]
        finally:
            await agent.close()
        status, log = await api(http, server, "/api/audit")
        changes = [e for e in log["entries"] if e["action"] == "operations_settings"]
        assert len(changes) == 2 and changes[0]["user"] == "api"
        assert changes[0]["detail"]["changes"]["ops.auto_assign"] == {"from": None, "to": True}
        # Refused: bad values (nothing stored), and anyone but an admin.
        status, body = await api(http, server, "/api/settings/operations", "PUT", json={"max_wait_seconds": -1})
        assert status == 422 and body["error"] == "bad_setting"
        await login(http, server, username, password)
        async with http.put(f"{server.url}/api/settings/operations", json={"auto_assign": False}) as r:
            assert r.status == 403
        async with http.get(f"{server.url}/api/audit") as r:
            assert r.status == 403


async def test_users_are_edited_reset_and_deleted_by_the_rules_and_audited(server):
    async with http_session() as http:
        username, password, user_id = await add_user(server, "agent")
        status, body = await api(http, server, f"/api/users/{user_id}", "PATCH", json={"display_name": "Renamed",
                                                                                      "capacity": 7})
        assert status == 200 and body["user"]["display_name"] == "Renamed" and body["user"]["capacity"] == 7
        status, body = await api(http, server, f"/api/users/{user_id}/password", "POST", json={"password": "short"})
        assert status == 422 and "at least 12" in body["message"]
        status, body = await api(http, server, f"/api/users/{user_id}/password", "POST",
                                 json={"password": "password1234"})
        assert status == 422 and "common" in body["message"]
        new_password = "a-much-longer-" + uuid.uuid4().hex[:8]
        status, _ = await api(http, server, f"/api/users/{user_id}/password", "POST", json={"password": new_password})
        assert status == 200
        async with http_session() as other:
            token = await login(other, server, username, new_password)
        agent = await AgentClient(server, token).connect()
        await agent.wait_for("queue")
        # An agent who holds a conversation cannot be deleted until it is passed on.
        sender = f"rest-{uuid.uuid4().hex[:8]}"
        await rest(http, server, sender, "I want to talk to a person")
        _, found = await api(http, server, f"/api/conversations?channel=rest&external_id={sender}")
        conversation_id = found["conversations"][0]["id"]
        assert (await agent.call("claim", {"conversation_id": conversation_id}))["ok"]
        status, body = await api(http, server, f"/api/users/{user_id}", "DELETE")
        assert status == 409 and body["error"] == "owns_conversations"
        assert (await api(http, server, f"/api/conversations/{conversation_id}/resolve", "POST"))[0] == 200
        status, body = await api(http, server, f"/api/users/{user_id}", "DELETE")
        assert status == 200 and body["sessions_ended"] == 1
        await asyncio.wait_for(agent.ended.wait(), 10)   # their console is disconnected at once
        assert (await api(http, server, f"/api/users/{user_id}", "DELETE"))[0] == 404
        _, detail = await api(http, server, f"/api/conversations/{conversation_id}")
        assert detail["conversation"]["status"] == "resolved"     # their work stays
        _, log = await api(http, server, "/api/audit?limit=50")
        mine = [e for e in log["entries"] if e["detail"].get("path", "").startswith(f"/api/users/{user_id}")]
        actions = {e["action"] for e in mine}
        assert {"delete /api/users/{id}", "post /api/users/{id}/password", "patch /api/users/{id}"} <= actions
        # Only the password change that succeeded is there, without the password.
        [password_entry] = [e for e in mine if e["action"] == "post /api/users/{id}/password"]
        assert password_entry["detail"]["changes"] == {"password": "(changed)"} and password_entry["user"] == "api"
        assert new_password not in str(log)
