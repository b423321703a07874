"""The console's HTTP API (docs/api.md). Roles are checked on every route."""

from __future__ import annotations

import json
from typing import Any, Dict

from aiohttp import web

from agent_console.accounts import AccountError
from agent_console.auth import (
    ADMIN_ROLES, AGENT_ROLES, COOKIE, READ_ROLES, TRAINER_ROLES, error, requires,
)
from agent_console.customer_context import customer_context
from bot.store.repository import NotFound, OPEN_STATUSES
from bot.store.serialize import user_full
from bot.store.tables import CannedResponse
from bot.takeover import ActionError

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

STATUSES = ("bot", "queued", "assigned", "resolved")


async def _json(request: web.Request) -> Dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text=json.dumps({"error": "malformed_json", "message": "body is not JSON"}),
                                 content_type="application/json")
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "malformed_json", "message": "expected an object"}),
                                 content_type="application/json")
    return body


def _id(request: web.Request, name: str = "id") -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise web.HTTPNotFound(text=json.dumps({"error": "not_found", "message": "no such id"}),
                               content_type="application/json")


def _action_error(exc: ActionError) -> web.Response:
    return error(exc.status, exc.code, exc.message)


async def login(request: web.Request) -> web.Response:
    services = request.app["services"]
    body = await _json(request)
    user = await services.accounts.authenticate(str(body.get("username", "")), str(body.get("password", "")))
    if user is None:
        return error(401, "bad_credentials", "wrong username or password")
    token = await services.accounts.start_session(user)
    response = web.json_response({"user": user_full(user)})
    response.set_cookie(COOKIE, token, httponly=True, samesite="Lax", secure=services.settings.secure_cookies,
                        max_age=7 * 24 * 3600, path="/")
    return response


@requires(*READ_ROLES)
async def logout(request: web.Request) -> web.Response:
    await request.app["services"].accounts.end_session(request.cookies.get(COOKIE))
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


@requires(*READ_ROLES)
async def me(request: web.Request) -> web.Response:
    return web.json_response({"user": user_full(request["user"])})


@requires(*READ_ROLES)
async def list_conversations(request: web.Request) -> web.Response:
    store = request.app["services"].store
    wanted = request.query.get("status")
    statuses = [s for s in (wanted.split(",") if wanted else OPEN_STATUSES)]
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        return error(400, "bad_status", f"unknown status {unknown[0]!r}; use one of {', '.join(STATUSES)}")
    try:
        limit = min(max(int(request.query.get("limit", 100)), 1), 500)
    except ValueError:
        return error(400, "bad_limit", "limit must be a number")
    identity = None
    if request.query.get("external_id"):
        # Integrations look a customer up by who they are on a channel (e.g. the REST sender).
        identity = (request.query.get("channel", "rest"), request.query["external_id"])
    return web.json_response({"conversations": await store.list_conversations(statuses, limit,
                                                                              identity=identity)})


@requires(*READ_ROLES)
async def get_conversation(request: web.Request) -> web.Response:
    store = request.app["services"].store
    conversation_id = _id(request)
    try:
        summary = await store.summary(conversation_id)
    except NotFound:
        return error(404, "not_found", f"no conversation {conversation_id}")
    return web.json_response({"conversation": summary, "messages": await store.messages(conversation_id)})


@requires(*AGENT_ROLES)
async def get_context(request: web.Request) -> web.Response:
    services = request.app["services"]
    try:
        context = await customer_context(services.store, services.context_provider, _id(request))
    except NotFound:
        return error(404, "not_found", "no such conversation")
    return web.json_response(context)


def _action(name: str):
    @requires(*AGENT_ROLES)
    async def handler(request: web.Request) -> web.Response:
        services = request.app["services"]
        user = request["user"]
        conversation_id = _id(request)
        body = await _json(request) if request.can_read_body else {}
        try:
            if name == "claim":
                return web.json_response({"conversation": await services.takeover.claim(conversation_id, user)})
            if name == "reply":
                return web.json_response({"message": await services.takeover.reply(
                    conversation_id, user, body.get("text"))})
            if name == "notes":
                return web.json_response({"message": await services.takeover.note(
                    conversation_id, user, body.get("text"))})
            if name == "transfer":
                target = await services.accounts.by_id(int(body.get("agent_id") or 0))
                if target is None:
                    return error(404, "not_found", "no such agent")
                return web.json_response({"conversation": await services.takeover.transfer(
                    conversation_id, target, user)})
            if name == "hand_back":
                return web.json_response({"conversation": await services.takeover.hand_back(conversation_id, user)})
            if name == "resolve":
                return web.json_response({"conversation": await services.takeover.resolve(conversation_id, user)})
        except ActionError as exc:
            return _action_error(exc)
        raise AssertionError(name)

    return handler


@requires(*READ_ROLES)
async def label_message(request: web.Request) -> web.Response:
    services = request.app["services"]
    body = await _json(request)
    try:
        message = await services.takeover.label(_id(request), request["user"], body.get("intent"),
                                                bool(body.get("out_of_scope")))
    except ActionError as exc:
        return _action_error(exc)
    return web.json_response({"message": message})


@requires(*TRAINER_ROLES)
async def review(request: web.Request) -> web.Response:
    items = await request.app["services"].store.review_items()
    return web.json_response({"items": [
        {"message": m, "conversation_id": m["conversation_id"], "label": m["label"],
         "predicted": (m["nlu"] or {}).get("intent"),
         "confidence": (m["nlu"] or {}).get("confidence")} for m in items]})


@requires(*READ_ROLES)
async def intents(request: web.Request) -> web.Response:
    return web.json_response({"intents": request.app["services"].engine.intents})


@requires(*AGENT_ROLES)
async def list_canned(request: web.Request) -> web.Response:
    async with request.app["services"].store.sessions() as session:
        rows = (await session.execute(select(CannedResponse).order_by(CannedResponse.shortcut))).scalars()
        return web.json_response({"canned": [{"id": r.id, "shortcut": r.shortcut, "text": r.text} for r in rows]})


@requires(*ADMIN_ROLES)
async def create_canned(request: web.Request) -> web.Response:
    body = await _json(request)
    shortcut = str(body.get("shortcut", "")).strip().lstrip("/")
    text = str(body.get("text", "")).strip()
    if not shortcut or not text or len(shortcut) > 60 or " " in shortcut:
        return error(422, "bad_canned", "a canned response needs a one-word shortcut and a text")
    row = CannedResponse(shortcut=shortcut, text=text)
    try:
        async with request.app["services"].store.sessions() as session, session.begin():
            session.add(row)
    except IntegrityError:
        return error(409, "duplicate", f"/{shortcut} already exists")
    return web.json_response({"canned": {"id": row.id, "shortcut": row.shortcut, "text": row.text}}, status=201)


@requires(*READ_ROLES)
async def agents(request: web.Request) -> web.Response:
    return web.json_response({"agents": await request.app["services"].presence.roster()})


@requires(*ADMIN_ROLES)
async def list_users(request: web.Request) -> web.Response:
    services = request.app["services"]
    users = await services.accounts.list_users()
    return web.json_response({"users": [{**user_full(u), "presence": services.presence.status_of(u.id)}
                                        for u in users]})


@requires(*ADMIN_ROLES)
async def create_user(request: web.Request) -> web.Response:
    body = await _json(request)
    try:
        user = await request.app["services"].accounts.create_user(
            str(body.get("username", "")), str(body.get("password", "")), str(body.get("role", "")),
            body.get("display_name"), int(body.get("capacity") or 5))
    except (AccountError, ValueError) as exc:
        return error(422, "bad_user", str(exc))
    return web.json_response({"user": user_full(user)}, status=201)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/login", login)
    r.add_post("/api/logout", logout)
    r.add_get("/api/me", me)
    r.add_get("/api/conversations", list_conversations)
    r.add_get("/api/conversations/{id}", get_conversation)
    r.add_get("/api/conversations/{id}/context", get_context)
    for action in ("claim", "reply", "notes", "transfer", "hand_back", "resolve"):
        r.add_post(f"/api/conversations/{{id}}/{action}", _action(action))
    r.add_post("/api/messages/{id}/label", label_message)
    r.add_get("/api/review", review)
    r.add_get("/api/intents", intents)
    r.add_get("/api/canned", list_canned)
    r.add_post("/api/canned", create_canned)
    r.add_get("/api/agents", agents)
    r.add_get("/api/users", list_users)
    r.add_post("/api/users", create_user)
