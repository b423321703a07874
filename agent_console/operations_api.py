"""HTTP routes of the operations features (issue 18): satisfaction per agent, search, tags.

The agent actions (take over, resolve with a closing message…) are in the action table
(actions.py); these are the reads and edits around them. Roles are checked on every route.
"""

from __future__ import annotations

from aiohttp import web

from agent_console.auth import json_response, requires
from bot.domain import ANY_ROLE


@requires(ANY_ROLE)
async def satisfaction(request: web.Request) -> web.Response:
    """The satisfaction answers per agent (the agent a resolved conversation belonged to)."""
    agents = await request.app["services"].store.ratings.per_agent()
    return json_response({"agents": [a.as_json() for a in agents]})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/ratings", satisfaction)

