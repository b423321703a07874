"""Admin routes of issue 18: operations settings (live, audited), deleting users, the audit log,
and the audit of every change admins make to users and canned responses.

Settings: business hours and time zone, the wait (maximum, notice interval), auto-assignment,
tag rules, the widget's texts and colour defaults (bot/operations_settings.py).
"""

from __future__ import annotations

import re
from typing import Any, Dict

from aiohttp import web

from agent_console.api import read_body
from agent_console.auth import error, json_response, requires
from agent_console.schemas import is_number, path_id
from bot import jsonsafe
from bot.domain import ADMIN_ROLES
from bot.operations_settings import OperationsError

AUDITED = re.compile(r"^/api/(users|canned)(/\d+(/\w+)?)?$")
ID_IN_PATH = re.compile(r"/\d+")
SECRET_FIELDS = ("password",)


@requires(ADMIN_ROLES)
async def get_operations(request: web.Request) -> web.Response:
    return json_response({"settings": request.app["services"].operations.current()})


@requires(ADMIN_ROLES)
async def put_operations(request: web.Request) -> web.Response:
    body = await read_body(request)
    if not isinstance(body, dict):
        return error(400, "malformed", "expected a JSON object of settings")
    try:
        current = await request.app["services"].operations.update(request["user"], body)
    except OperationsError as exc:
        return error(422, "bad_setting", str(exc))
    return json_response({"ok": True, "settings": current})


@requires(ADMIN_ROLES)
async def delete_user(request: web.Request) -> web.Response:
    """Delete an account: its sessions (and sockets) end at once; its past messages keep no author link."""
    services = request.app["services"]
    user = await services.accounts.by_id(path_id(request.match_info["id"]))
    if user is None or user.username == "api":
        return error(404, "not_found", "no such user")
    if user.id == request["user"].id:
        return error(409, "own_account", "you cannot delete your own account")
    owned = (await services.conversations.assigned_counts()).get(user.id, 0)
    if owned:
        return error(409, "owns_conversations",
                     f"{user.username} has {owned} open conversation{'s' if owned != 1 else ''}; "
                     "transfer or resolve them first")
    ended = await services.accounts.deactivate(user.id)
    await services.agents.end_logins(ended)
    await services.store.accounts.delete(user.id)
    return json_response({"ok": True, "sessions_ended": len(ended)})


@requires(ADMIN_ROLES)
async def audit_log(request: web.Request) -> web.Response:
    raw = request.query.get("limit", "100")
    if not is_number(raw) or len(raw) > 4:
        return error(400, "bad_limit", "limit must be a whole number")
    return json_response({"entries": await request.app["services"].store.settings.audit_log(
        min(max(int(raw), 1), 500))})


def _scrubbed(body: Any) -> Dict[str, Any]:
    if not isinstance(body, dict):
        return {}
    return {k: ("(changed)" if k in SECRET_FIELDS else v) for k, v in body.items() if isinstance(k, str)}


@web.middleware
async def audit_admin_changes(request: web.Request, handler):
    """Who changed which user or canned response, how, when: every successful change is in the audit log."""
    response = await handler(request)
    if (request.method in ("POST", "PUT", "PATCH", "DELETE") and AUDITED.match(request.path)
            and response.status < 300 and request.get("user") is not None):
        body = None
        if request.body_exists:
            try:
                body = jsonsafe.loads(await request.read())   # read by the handler already: aiohttp keeps it
            except Exception:
                body = None
        route = ID_IN_PATH.sub("/{id}", request.path)
        await request.app["services"].store.settings.audit(
            request["user"].id, f"{request.method.lower()} {route}", {"path": request.path, "changes": _scrubbed(body)})
    return response


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/settings/operations", get_operations)
    r.add_put("/api/settings/operations", put_operations)
    r.add_delete("/api/users/{id}", delete_user)
    r.add_get("/api/audit", audit_log)
