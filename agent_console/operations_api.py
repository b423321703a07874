"""HTTP routes of the operations features (issue 18): satisfaction per agent, search, tags.

The agent actions (take over, resolve with a closing message…) are in the action table
(actions.py); these are the reads and edits around them. Roles are checked on every route.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import List, Optional, Tuple

from aiohttp import web

from agent_console.auth import json_response, requires
from agent_console.schemas import BadRequest, is_number
from bot.domain import ANY_ROLE
from bot.store.search import MAX_LIMIT, SearchFilter
from bot.text_rules import text_problem
from bot.views import all_json


@requires(ANY_ROLE)
async def satisfaction(request: web.Request) -> web.Response:
    """The satisfaction answers per agent (the agent a resolved conversation belonged to)."""
    agents = await request.app["services"].store.ratings.per_agent()
    return json_response({"agents": [a.as_json() for a in agents]})


STATUSES = ("bot", "queued", "assigned", "resolved")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _list(request: web.Request, name: str, allowed: Optional[Tuple[str, ...]] = None) -> List[str]:
    raw = request.query.get(name, "")
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if len(raw) > 2000 or len(values) > 20 or any(len(v) > 60 or text_problem(v) for v in values):
        raise BadRequest(f"bad_{name}", f"{name} is a short comma-separated list", 400)
    if allowed is not None:
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise BadRequest(f"bad_{name}", f"unknown {name} {unknown[0]!r}; use {', '.join(allowed)}", 400)
    return values


def _day(request: web.Request, name: str, next_day: bool = False) -> Optional[datetime]:
    raw = request.query.get(name, "")
    if not raw:
        return None
    try:
        if not DATE.match(raw):
            raise ValueError
        day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        raise BadRequest(f"bad_{name}", f"{name} is a date like 2026-12-31", 400)
    return day + timedelta(days=1) if next_day else day


def _number(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name, str(default))
    if not is_number(raw) or len(raw) > 6:
        raise BadRequest(f"bad_{name}", f"{name} must be a whole number", 400)
    return min(max(int(raw), low), high)


@requires(ANY_ROLE)
async def search(request: web.Request) -> web.Response:
    """Conversations by name, e-mail, message text or order number, filtered; newest activity first."""
    services = request.app["services"]
    text = request.query.get("q", "")
    if len(text) > 200 or text_problem(text):
        raise BadRequest("bad_q", "q is a short piece of text (at most 200 characters)", 400)
    assignee = request.query.get("assignee", "")
    if assignee not in ("", "none") and not (is_number(assignee) and 0 < len(assignee) <= 10):
        raise BadRequest("bad_assignee", "assignee is a user id or 'none'", 400)
    limit = _number(request, "limit", 50, 1, MAX_LIMIT)
    offset = _number(request, "offset", 0, 0, 100_000)
    found = await services.store.search.search(SearchFilter(
        text=text, statuses=_list(request, "status", STATUSES), channels=_list(request, "channel"),
        reasons=_list(request, "reason"), tags=[t.lower() for t in _list(request, "tag")],
        assignee_id=int(assignee) if assignee not in ("", "none") else None, unassigned=assignee == "none",
        active_from=_day(request, "from"), active_before=_day(request, "to", next_day=True),
        limit=limit + 1, offset=offset))
    return json_response({"conversations": all_json(found[:limit]), "more": len(found) > limit,
                          "offset": offset, "channels": services.channels.names()})


@requires(ANY_ROLE)
async def tags(request: web.Request) -> web.Response:
    """Tags in use, most used first, and the rules that set some of them."""
    services = request.app["services"]
    known = await services.store.tags.known()
    return json_response({"tags": [{"tag": t, "conversations": n} for t, n in known],
                          "rules": dict(services.action_deps.tagging.rules)})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/ratings", satisfaction)
    r.add_get("/api/tags", tags)
    r.add_get("/api/search/conversations", search)

