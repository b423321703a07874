"""Console accounts: passwords (bcrypt, off the event loop), login sessions, deactivation.

bcrypt is deliberately slow (a quarter second of CPU at cost 12). Hashing runs on one
dedicated thread, so a flood of logins can take at most that thread, never the event loop
nor every core; login throttling (login_throttle.py) keeps the flood short.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import List, Optional

import bcrypt

from agent_console.password_policy import password_problem
from bot.domain import Role
from bot.store.accounts import AccountStore, DuplicateUser
from bot.views import UserView

# The stand-in account behind BATON_ADMIN_TOKEN: it acts (claims need an owner), but it has no
# password and can never log in; the token itself is only ever a Bearer token.
API_USER = "api"
UNUSABLE_HASH = "!"  # no bcrypt hash looks like this, so no password matches it
SESSION_DAYS = 7
MAX_CAPACITY = 100


class AccountError(Exception):
    pass


def _now() -> datetime:
    return datetime.now(timezone.utc)


def session_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()


def _check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=12)).decode()


class Accounts:
    def __init__(self, store: AccountStore) -> None:
        self.store = store
        self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bcrypt")

    async def _in_hasher(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._hasher, fn, *args)

    def close(self) -> None:
        self._hasher.shutdown(wait=False, cancel_futures=True)

    async def create_user(self, username: str, password: str, role: str | Role,
                          display_name: Optional[str] = None, capacity: int = 5) -> UserView:
        username = (username or "").strip()
        if not username or len(username) > 80 or any(c.isspace() for c in username):
            raise AccountError("usernames are 1–80 characters without spaces")
        if username == API_USER:
            raise AccountError(f"{API_USER!r} is reserved for the admin token")
        try:
            role = Role(role)
        except ValueError:
            raise AccountError(f"role must be one of {', '.join(r.value for r in Role)}")
        problem = password_problem(password, username)
        if problem:
            raise AccountError(problem)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= MAX_CAPACITY:
            raise AccountError(f"capacity must be a whole number between 0 and {MAX_CAPACITY}")
        display = (display_name or username).strip()[:200] or username
        hashed = await self._in_hasher(_hash_password, password)
        try:
            return await self.store.create(username, display, role, hashed, capacity)
        except DuplicateUser:
            raise AccountError(f"a user named {username!r} already exists")

    async def ensure_user(self, username: str, password: str, role: str, display_name: str,
                          capacity: int = 5) -> UserView:
        existing = await self.store.by_username(username)
        return existing or await self.create_user(username, password, role, display_name, capacity)

    async def ensure_api_user(self) -> UserView:
        """The admin token's stand-in: exists, is an admin, and has no usable password."""
        found = await self.store.credentials(API_USER)
        if found is None:
            return await self.store.create(API_USER, "API token", Role.ADMIN, UNUSABLE_HASH, 0)
        user, hashed = found
        if hashed != UNUSABLE_HASH:  # an older Baton made the token its password: undo that
            await self.store.set_password_hash(user.id, UNUSABLE_HASH)
        return user

    async def authenticate(self, username: str, password: str) -> Optional[UserView]:
        found = await self.store.credentials(username) if username != API_USER else None
        hashed = found[1] if found and found[1] != UNUSABLE_HASH else _dummy_hash()
        # The same work whether or not the user exists, so timing does not tell.
        ok = await self._in_hasher(_check_password, password or "", hashed)
        if not ok or found is None or not found[0].active:
            return None
        return found[0]

    async def set_password(self, user_id: int, password: str) -> None:
        user = await self.store.by_id(user_id)
        if user is None or user.username == API_USER:
            raise AccountError("no such user")
        problem = password_problem(password, user.username)
        if problem:
            raise AccountError(problem)
        await self.store.set_password_hash(user_id, await self._in_hasher(_hash_password, password))

    async def by_id(self, user_id: int) -> Optional[UserView]:
        return await self.store.by_id(user_id)

    async def by_username(self, username: str) -> Optional[UserView]:
        return await self.store.by_username(username)

    async def list_users(self) -> List[UserView]:
        """The people with accounts (not the admin token's stand-in)."""
        return await self.store.list(exclude=(API_USER,))

    async def active_people(self) -> List[UserView]:
        return await self.store.list(active_only=True, exclude=(API_USER,))

    # ---- login sessions ---------------------------------------------------------

    async def start_session(self, user: UserView) -> str:
        token = secrets.token_urlsafe(32)
        await self.store.start_session(user.id, session_digest(token), _now() + timedelta(days=SESSION_DAYS))
        return token

    async def user_for_token(self, token: Optional[str]) -> Optional[UserView]:
        if not token or len(token) > 200:
            return None
        return await self.user_for_digest(session_digest(token))

    async def user_for_digest(self, digest: Optional[str]) -> Optional[UserView]:
        """The user of a live login session; None once it ended, expired, or the user was deactivated."""
        if not digest:
            return None
        login = await self.store.session(digest)
        if login is None or login.expires_at < _now() or not login.user.active:
            return None
        return login.user

    async def end_session(self, token: Optional[str]) -> Optional[str]:
        if not token:
            return None
        digest = session_digest(token)
        await self.store.end_session(digest)
        return digest

    async def deactivate(self, user_id: int) -> List[str]:
        """Deactivate a user and end every login session; returns the ended sessions' digests."""
        await self.store.update(user_id, active=False)
        return await self.store.end_sessions_of(user_id)

    async def update(self, user_id: int, **values) -> Optional[UserView]:
        return await self.store.update(user_id, **values)
