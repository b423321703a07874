"""Accounts, password hashing (bcrypt) and login sessions stored in the database."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import secrets
from datetime import timedelta
from typing import List, Optional

import bcrypt
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.store.repository import ConversationStore
from bot.store.tables import AuthSession, User, utcnow

ROLES = ("agent", "trainer", "admin")
# The stand-in account behind BATON_ADMIN_TOKEN: it acts, but is nobody a person would list.
API_USER = "api"
SESSION_DAYS = 7


class AccountError(Exception):
    pass


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()


def _check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


class Accounts:
    def __init__(self, store: ConversationStore) -> None:
        self.sessions = store.sessions

    async def create_user(self, username: str, password: str, role: str,
                          display_name: Optional[str] = None, capacity: int = 5) -> User:
        username = (username or "").strip()
        if not username or len(username) > 80:
            raise AccountError("username must be 1–80 characters")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if not password or len(password) < 4:
            raise AccountError("password must be at least 4 characters")
        if not 0 <= int(capacity) <= 100:
            raise AccountError("capacity must be between 0 and 100")
        # bcrypt is deliberately slow; keep it off the event loop.
        hashed = await asyncio.get_running_loop().run_in_executor(None, _hash_password, password)
        user = User(username=username, display_name=(display_name or username).strip()[:200], role=role,
                    password_hash=hashed, capacity=int(capacity), active=True)
        try:
            async with self.sessions() as session, session.begin():
                session.add(user)
        except IntegrityError:
            raise AccountError(f"a user named {username!r} already exists")
        return user

    async def authenticate(self, username: str, password: str) -> Optional[User]:
        user = await self.by_username(username)
        hashed = user.password_hash if user else _dummy_hash()  # same work whether or not the user exists
        ok = await asyncio.get_running_loop().run_in_executor(None, _check_password, password or "", hashed)
        return user if ok and user is not None and user.active else None

    async def by_username(self, username: str) -> Optional[User]:
        async with self.sessions() as session:
            return (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()

    async def by_id(self, user_id: int) -> Optional[User]:
        async with self.sessions() as session:
            return await session.get(User, user_id)

    async def list_users(self) -> List[User]:
        """The people with accounts (not the admin token's stand-in)."""
        async with self.sessions() as session:
            return list((await session.execute(
                select(User).where(User.username != API_USER).order_by(User.id))).scalars())

    async def start_session(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        async with self.sessions() as session, session.begin():
            session.add(AuthSession(id=_digest(token), user_id=user.id,
                                    expires_at=utcnow() + timedelta(days=SESSION_DAYS)))
        return token

    async def user_for_token(self, token: Optional[str]) -> Optional[User]:
        if not token or len(token) > 200:
            return None
        async with self.sessions() as session:
            row = await session.get(AuthSession, _digest(token))
            if row is None:
                return None
            expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=utcnow().tzinfo)
            if expires < utcnow():
                return None
            user = await session.get(User, row.user_id)
            return user if user is not None and user.active else None

    async def end_session(self, token: Optional[str]) -> None:
        if not token:
            return
        async with self.sessions() as session, session.begin():
            await session.execute(delete(AuthSession).where(AuthSession.id == _digest(token)))

    async def ensure_user(self, username: str, password: str, role: str, display_name: str,
                          capacity: int = 5) -> User:
        existing = await self.by_username(username)
        return existing or await self.create_user(username, password, role, display_name, capacity)


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=12)).decode()
