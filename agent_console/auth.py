"""Who is calling: the session cookie or the admin token, and what their role allows."""

from __future__ import annotations

import functools
import hmac
from typing import Awaitable, Callable, Iterable, Optional
from urllib.parse import urlsplit

from aiohttp import web

from agent_console.accounts import API_USER
from bot.store.tables import User

COOKIE = "baton_session"

AGENT_ROLES = ("agent", "admin")
READ_ROLES = ("agent", "trainer", "admin")
TRAINER_ROLES = ("trainer", "admin")
ADMIN_ROLES = ("admin",)


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


def origin_allowed(origin: Optional[str], host: Optional[str], allowed: Iterable[str]) -> bool:
    """The console and its API accept only Baton's own origin and configured ones."""
    if not origin:
        return True  # not a browser cross-origin request (curl, server-to-server)
    parts = urlsplit(origin)
    if host and parts.netloc == host:
        return True
    return origin.rstrip("/") in {o.rstrip("/") for o in allowed}


async def user_from_request(request: web.Request) -> Optional[User]:
    services = request.app["services"]
    header = request.headers.get("Authorization", "")
    token = services.settings.admin_token
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:], token):
        return await services.accounts.by_username(API_USER)
    return await services.accounts.user_for_token(request.cookies.get(COOKIE))


def requires(*roles: str) -> Callable:
    """Route decorator: 401 without a login, 403 when the role may not do this."""

    def decorate(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            user = await user_from_request(request)
            if user is None:
                return error(401, "unauthenticated", "log in first")
            if user.role not in roles:
                return error(403, "forbidden", f"a {user.role} may not do this")
            request["user"] = user
            return await handler(request)

        return wrapped

    return decorate
