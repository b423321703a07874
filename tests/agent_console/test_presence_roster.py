"""The presence roster: changes that come together go out as one roster, with every change in it."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from agent_console import namespace as ns_module
from agent_console.namespace import AgentNamespace


class Roster:
    """Presence's one call the namespace makes when broadcasting: who is online now."""

    def __init__(self) -> None:
        self.online: List[int] = []
        self.reads = 0

    async def roster(self) -> List[Dict[str, Any]]:
        self.reads += 1
        return [{"id": i, "presence": "online"} for i in self.online]


def namespace_with(roster: Roster, sent: List[Any]) -> AgentNamespace:
    ns = AgentNamespace(accounts=None, conversations=None, presence=roster, deps=None, context=None,
                        allowed_origins=[])

    async def emit(event, data, room=None, **kwargs):
        sent.append((event, data, room))

    async def someone_listens():
        return True

    ns.emit = emit
    ns.may_have_listeners = someone_listens   # no Socket.IO server here; a console is listening
    return ns


async def test_a_burst_of_connects_sends_one_roster_with_all_of_them():
    roster, sent = Roster(), []
    ns = namespace_with(roster, sent)
    for agent in range(100):   # a hundred consoles connecting at once
        roster.online.append(agent)
        await ns.broadcast_presence()
    await asyncio.sleep(ns_module.PRESENCE_COALESCE_SECONDS * 3)
    assert len(sent) == 1 and roster.reads == 1
    event, data, room = sent[0]
    assert event == "presence" and room == ns_module.ROOM
    assert [a["id"] for a in data["agents"]] == list(range(100))


async def test_a_change_after_a_roster_went_out_gets_its_own():
    roster, sent = Roster(), []
    ns = namespace_with(roster, sent)
    roster.online.append(1)
    await ns.broadcast_presence()
    await asyncio.sleep(ns_module.PRESENCE_COALESCE_SECONDS * 3)
    roster.online.remove(1)
    await ns.broadcast_presence()
    await asyncio.sleep(ns_module.PRESENCE_COALESCE_SECONDS * 3)
    assert [[a["id"] for a in data["agents"]] for _, data, _ in sent] == [[1], []]


async def test_shutdown_drops_a_roster_still_waiting():
    roster, sent = Roster(), []
    ns = namespace_with(roster, sent)
    await ns.broadcast_presence()
    await ns.close()
    await asyncio.sleep(ns_module.PRESENCE_COALESCE_SECONDS * 2)
    assert sent == [] and roster.reads == 0
