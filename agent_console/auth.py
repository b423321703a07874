"""Who is calling the console API: a login session cookie, or the admin token as a Bearer token.

Every route declares the roles it allows (`@requires`); the Socket.IO namespace checks the
same role sets per event. The console accepts only Baton's own origins and configured ones,
compared exactly (scheme, host and port): an Origin that merely equals the Host header is how a
DNS-rebinding page would look, so it is not enough.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Awaitable, Callable, FrozenSet, Iterable, Optional

from aiohttp import web

from agent_console.accounts import API_USER
from bot import jsonsafe
from bot.domain import Role
from bot.views import UserView

COOKIE = "baton_session"


def json_response(body, status: int = 200, headers=None) -> web.Response:
    return web.json_response(body, status=status, headers=headers, dumps=jsonsafe.dumps)


def error(status: int, code: str, message: str, headers=None) -> web.Response:
    return json_response({"error": code, "message": message}, status=status, headers=headers)


def origin_allowed(origin: Optional[str], allowed: Iterable[str]) -> bool:
    """True for requests without an Origin (not a browser's cross-site request) or an exact allowed one."""
    if not origin:
        return True
    return origin.rstrip("/").lower() in {o.rstrip("/").lower() for o in allowed}


def token_matches(given: str, expected: Optional[str]) -> bool:
    """Constant-time comparison of a presented token with the configured one (any length)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest())


async def user_from_request(request: web.Request) -> Optional[UserView]:
    services = request.app["services"]
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        if token_matches(header[7:], services.settings.admin_token):
            return await services.accounts.by_username(API_USER)
        return None  # a wrong token is not a fallback to the cookie
    return await services.accounts.user_for_token(request.cookies.get(COOKIE))


def requires(roles: FrozenSet[Role]) -> Callable:
    """Route decorator: 401 without a login, 403 when the role may not do this."""

    def decorate(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            user = await user_from_request(request)
            if user is None:
                return error(401, "unauthenticated", "log in first")
            if user.role not in roles:
                return error(403, "forbidden", f"a {user.role.value} may not do this")
            request["user"] = user
            return await handler(request)

        return wrapped

    return decorate
