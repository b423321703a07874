"""Console users and their login sessions (stored as digests, never as tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Tuple

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain import Role
from bot.store.rows import user_view
from bot.store.tables import AuthSession, User, utcnow
from bot.views import UserView


class DuplicateUser(Exception):
    pass


@dataclass(frozen=True)
class LoginSession:
    user: UserView
    expires_at: datetime


class AccountStore:
    def __init__(self, sessions) -> None:
        self.sessions = sessions

    async def create(self, username: str, display_name: str, role: Role, password_hash: str,
                     capacity: int) -> UserView:
        row = User(username=username, display_name=display_name, role=role.value, password_hash=password_hash,
                   capacity=capacity, active=True, created_at=utcnow())
        try:
            async with self.sessions() as session, session.begin():
                session.add(row)
                await session.flush()
                return user_view(row)
        except IntegrityError:
            raise DuplicateUser(username)

    async def credentials(self, username: str) -> Optional[Tuple[UserView, str]]:
        async with self.sessions() as session:
            row = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
            return (user_view(row), row.password_hash) if row is not None else None

    async def by_username(self, username: str) -> Optional[UserView]:
        found = await self.credentials(username)
        return found[0] if found else None

    async def by_id(self, user_id: int) -> Optional[UserView]:
        async with self.sessions() as session:
            row = await session.get(User, user_id)
            return user_view(row) if row is not None else None

    async def by_ids(self, user_ids) -> List[UserView]:
        async with self.sessions() as session:
            rows = (await session.execute(select(User).where(User.id.in_(list(user_ids))))).scalars()
            return [user_view(r) for r in rows]

    async def list(self, active_only: bool = False, exclude: Tuple[str, ...] = ()) -> List[UserView]:
        query = select(User).order_by(User.id)
        if active_only:
            query = query.where(User.active.is_(True))
        if exclude:
            query = query.where(User.username.notin_(list(exclude)))
        async with self.sessions() as session:
            return [user_view(r) for r in (await session.execute(query)).scalars()]

    async def update(self, user_id: int, **values) -> Optional[UserView]:
        async with self.sessions() as session, session.begin():
            await session.execute(update(User).where(User.id == user_id).values(**values))
            row = await session.get(User, user_id)
            return user_view(row) if row is not None else None

    async def delete(self, user_id: int) -> bool:
        """Remove an account; what it wrote stays (its author link becomes empty), its sessions go."""
        async with self.sessions() as session, session.begin():
            return (await session.execute(delete(User).where(User.id == user_id))).rowcount == 1

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(User).where(User.id == user_id).values(password_hash=password_hash))

    # ---- login sessions ---------------------------------------------------------

    async def start_session(self, user_id: int, digest: str, expires_at: datetime) -> None:
        async with self.sessions() as session, session.begin():
            session.add(AuthSession(id=digest, user_id=user_id, expires_at=expires_at, created_at=utcnow()))

    async def session(self, digest: str) -> Optional[LoginSession]:
        async with self.sessions() as session:
            row = (await session.execute(select(AuthSession, User).join(User, User.id == AuthSession.user_id)
                                         .where(AuthSession.id == digest))).first()
            if row is None:
                return None
            auth, user = row
            expires = auth.expires_at if auth.expires_at.tzinfo else auth.expires_at.replace(tzinfo=utcnow().tzinfo)
            return LoginSession(user_view(user), expires)

    async def end_session(self, digest: str) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(delete(AuthSession).where(AuthSession.id == digest))

    async def end_sessions_of(self, user_id: int) -> List[str]:
        """End every login of a user; returns the digests that ended (their sockets go too)."""
        async with self.sessions() as session, session.begin():
            digests = list((await session.execute(select(AuthSession.id).where(
                AuthSession.user_id == user_id))).scalars())
            await session.execute(delete(AuthSession).where(AuthSession.user_id == user_id))
        return digests
