"""The console's HTTP API (docs/api.md). Roles are checked on every route; bodies against a schema.

The agent actions (claim, reply, notes, transfer, hand back, resolve, typing, label) are
built from the one action table in `actions.py`, shared with the Socket.IO namespace.
"""

from __future__ import annotations

from typing import Any, Dict

from aiohttp import web

from agent_console.accounts import AccountError
from agent_console.actions import ACTIONS, Action, run_action
from agent_console.auth import COOKIE, error, json_response, requires, user_from_request
from agent_console.schemas import (
    BadRequest, Body, CannedBody, LoginBody, NewUserBody, PasswordBody, UserChangeBody, is_number, parse, path_id,
)
from bot import jsonsafe
from bot.client_address import client_address, peer_of_request
from bot.domain import ADMIN_ROLES, AGENT_ROLES, ANY_ROLE
from bot.store.catalogue import DuplicateShortcut
from bot.store.conversations import OPEN_STATUSES, NotFound
from bot.views import all_json

STATUSES = ("bot", "queued", "assigned", "resolved")


async def read_body(request: web.Request) -> Any:
    """The request's JSON body (strict: finite numbers, bounded depth), or None when there is none."""
    if not request.can_read_body:
        return None
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise BadRequest("body_too_large", "the request body is too large", 413)
    if not raw.strip():
        return None
    try:
        return jsonsafe.loads(raw)
    except jsonsafe.BadJson as exc:
        raise BadRequest(exc.code, f"the body is not acceptable JSON: {exc}", 400)


async def read(request: web.Request, model: type[Body]) -> Body:
    return parse(model, await read_body(request))


def _bad(exc: BadRequest) -> web.Response:
    return error(exc.status, exc.code, exc.message)


@web.middleware
async def bad_requests(request: web.Request, handler):
    """A BadRequest raised anywhere under /api/ becomes its 4xx with a message."""
    try:
        return await handler(request)
    except BadRequest as exc:
        return _bad(exc)


# ---- session ---------------------------------------------------------------------

async def login(request: web.Request) -> web.Response:
    services = request.app["services"]
    body = await read(request, LoginBody)
    address = client_address(peer_of_request(request), request.headers.get("X-Forwarded-For"),
                             services.settings.trusted_proxy_networks)
    throttled = services.login_throttle.check(body.username, address)
    if throttled:
        return error(429, "too_many_attempts",
                     f"{throttled.reason}; try again in {throttled.retry_after} seconds",
                     headers={"Retry-After": str(throttled.retry_after)})
    user = await services.accounts.authenticate(body.username, body.password)
    if user is None:
        services.login_throttle.failed(body.username)
        return error(401, "bad_credentials", "wrong username or password")
    services.login_throttle.succeeded(body.username)
    token = await services.accounts.start_session(user)
    response = json_response({"user": user.as_json()})
    response.set_cookie(COOKIE, token, httponly=True, samesite="Lax", secure=services.settings.secure_cookies,
                        max_age=7 * 24 * 3600, path="/")
    return response


@requires(ANY_ROLE)
async def logout(request: web.Request) -> web.Response:
    services = request.app["services"]
    digest = await services.accounts.end_session(request.cookies.get(COOKIE))
    await services.agents.end_login(digest)
    response = json_response({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


@requires(ANY_ROLE)
async def me(request: web.Request) -> web.Response:
    return json_response({"user": request["user"].as_json()})


# ---- conversations -----------------------------------------------------------------

@requires(ANY_ROLE)
async def list_conversations(request: web.Request) -> web.Response:
    conversations = request.app["services"].conversations
    wanted = request.query.get("status")
    statuses = [s for s in (wanted.split(",") if wanted else OPEN_STATUSES)]
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        return error(400, "bad_status", f"unknown status {unknown[0][:40]!r}; use one of {', '.join(STATUSES)}")
    raw_limit = request.query.get("limit", "100")
    if not is_number(raw_limit) or len(raw_limit) > 6:
        return error(400, "bad_limit", "limit must be a whole number")
    limit = min(max(int(raw_limit), 1), 500)
    identity = None
    if request.query.get("external_id"):
        # Integrations look a customer up by who they are on a channel (e.g. the REST sender).
        identity = (request.query.get("channel", "rest"), request.query["external_id"])
    found = await conversations.list_conversations(statuses, limit, identity=identity)
    return json_response({"conversations": all_json(found)})


@requires(ANY_ROLE)
async def get_conversation(request: web.Request) -> web.Response:
    conversations = request.app["services"].conversations
    conversation_id = path_id(request.match_info["id"])
    try:
        summary = await conversations.summary(conversation_id)
    except NotFound:
        return error(404, "not_found", f"no conversation {conversation_id}")
    return json_response({"conversation": summary.as_json(),
                          "messages": all_json(await conversations.messages(conversation_id))})


@requires(AGENT_ROLES)
async def get_context(request: web.Request) -> web.Response:
    try:
        context = await request.app["services"].customer_context.for_conversation(path_id(request.match_info["id"]))
    except NotFound:
        return error(404, "not_found", "no such conversation")
    return json_response(context)


def _action_route(action: Action):
    async def handler(request: web.Request) -> web.Response:
        services = request.app["services"]
        user = await user_from_request(request)
        if user is None:
            return error(401, "unauthenticated", "log in first")
        outcome = await run_action(action, services.action_deps, user, path_id(request.match_info["id"]),
                                   await read_body(request))
        return json_response(outcome.body, status=outcome.status)

    handler.__name__ = f"http_{action.name}"
    return handler


@requires(ANY_ROLE)
async def intents(request: web.Request) -> web.Response:
    return json_response({"intents": request.app["services"].engine.intents})


@requires(AGENT_ROLES)
async def retry_delivery(request: web.Request) -> web.Response:
    services = request.app["services"]
    conversation_id = await services.store.outbox.retry_now(path_id(request.match_info["id"]))
    if conversation_id is None:
        return error(409, "not_failed", "only a failed delivery can be retried")
    services.outbox_worker.kick()
    return json_response({"ok": True})


# ---- canned responses ------------------------------------------------------------

@requires(AGENT_ROLES)
async def list_canned(request: web.Request) -> web.Response:
    return json_response({"canned": all_json(await request.app["services"].store.catalogue.canned())})


@requires(ADMIN_ROLES)
async def create_canned(request: web.Request) -> web.Response:
    body = await read(request, CannedBody)
    try:
        canned = await request.app["services"].store.catalogue.add_canned(body.shortcut.lstrip("/"), body.text.strip())
    except DuplicateShortcut:
        return error(409, "duplicate", f"/{body.shortcut.lstrip('/')} already exists")
    return json_response({"canned": canned.as_json()}, status=201)


@requires(ADMIN_ROLES)
async def update_canned(request: web.Request) -> web.Response:
    body = await read(request, CannedBody)
    try:
        canned = await request.app["services"].store.catalogue.update_canned(
            path_id(request.match_info["id"]), body.shortcut.lstrip("/"), body.text.strip())
    except DuplicateShortcut:
        return error(409, "duplicate", f"/{body.shortcut.lstrip('/')} already exists")
    if canned is None:
        return error(404, "not_found", "no such canned response")
    return json_response({"canned": canned.as_json()})


@requires(ADMIN_ROLES)
async def delete_canned(request: web.Request) -> web.Response:
    if not await request.app["services"].store.catalogue.delete_canned(path_id(request.match_info["id"])):
        return error(404, "not_found", "no such canned response")
    return json_response({"ok": True})


# ---- people ---------------------------------------------------------------------------

@requires(ANY_ROLE)
async def agents(request: web.Request) -> web.Response:
    return json_response({"agents": await request.app["services"].presence.roster()})


@requires(ADMIN_ROLES)
async def list_users(request: web.Request) -> web.Response:
    services = request.app["services"]
    users = await services.accounts.list_users()
    return json_response({"users": [{**u.as_json(), "presence": services.presence.status_of(u.id)} for u in users]})


@requires(ADMIN_ROLES)
async def create_user(request: web.Request) -> web.Response:
    body = await read(request, NewUserBody)
    try:
        user = await request.app["services"].accounts.create_user(
            body.username, body.password, body.role, body.display_name, body.capacity)
    except AccountError as exc:
        return error(422, "bad_user", str(exc))
    return json_response({"user": user.as_json()}, status=201)


async def _person(request: web.Request):
    services = request.app["services"]
    user = await services.accounts.by_id(path_id(request.match_info["id"]))
    if user is None or user.username == "api":
        raise BadRequest("not_found", "no such user", 404)
    return services, user


@requires(ADMIN_ROLES)
async def change_user(request: web.Request) -> web.Response:
    services, user = await _person(request)
    body = await read(request, UserChangeBody)
    values: Dict[str, Any] = {k: v for k, v in body.dict().items() if v is not None}
    if user.id == request["user"].id and (values.get("active") is False or values.get("role", "admin") != "admin"):
        return error(409, "own_account", "you cannot deactivate or demote your own account")
    ended = []
    if values.get("active") is False:
        ended = await services.accounts.deactivate(user.id)
        values.pop("active")
    updated = await services.accounts.update(user.id, **values) if values else await services.accounts.by_id(user.id)
    await services.agents.end_logins(ended)
    return json_response({"user": updated.as_json()})


@requires(ADMIN_ROLES)
async def deactivate_user(request: web.Request) -> web.Response:
    services, user = await _person(request)
    if user.id == request["user"].id:
        return error(409, "own_account", "you cannot deactivate your own account")
    ended = await services.accounts.deactivate(user.id)
    await services.agents.end_logins(ended)
    return json_response({"user": (await services.accounts.by_id(user.id)).as_json(), "sessions_ended": len(ended)})


@requires(ADMIN_ROLES)
async def set_password(request: web.Request) -> web.Response:
    services, user = await _person(request)
    body = await read(request, PasswordBody)
    try:
        await services.accounts.set_password(user.id, body.password)
    except AccountError as exc:
        return error(422, "bad_password", str(exc))
    return json_response({"ok": True})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/login", login)
    r.add_post("/api/logout", logout)
    r.add_get("/api/me", me)
    r.add_get("/api/conversations", list_conversations)
    r.add_get("/api/conversations/{id}", get_conversation)
    r.add_get("/api/conversations/{id}/context", get_context)
    for action in ACTIONS:
        base = "/api/messages/{id}/" if action.subject == "message" else "/api/conversations/{id}/"
        r.add_post(base + action.http, _action_route(action))
    r.add_post("/api/messages/{id}/retry_delivery", retry_delivery)
    r.add_get("/api/intents", intents)
    r.add_get("/api/canned", list_canned)
    r.add_post("/api/canned", create_canned)
    r.add_put("/api/canned/{id}", update_canned)
    r.add_delete("/api/canned/{id}", delete_canned)
    r.add_get("/api/agents", agents)
    r.add_get("/api/users", list_users)
    r.add_post("/api/users", create_user)
    r.add_patch("/api/users/{id}", change_user)
    r.add_post("/api/users/{id}/deactivate", deactivate_user)
    r.add_post("/api/users/{id}/password", set_password)
