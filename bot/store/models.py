"""Model versions (file, who trained it, on which data, how it evaluated), setting overrides, the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional

from sqlalchemy import select, update

from bot.store.tables import AuditEntry, SettingOverride, TrainedModel, User, utcnow
from bot.views import iso


@dataclass(frozen=True)
class ModelVersion:
    id: int
    path: str
    config: str
    data_version: Optional[str]
    status: str
    active: bool
    created_by: Optional[str]
    created_at: Optional[datetime]
    finished_at: Optional[datetime]
    activated_at: Optional[datetime]
    error: Optional[str]
    evaluation: Optional[Dict[str, Any]]
    note: Optional[str]

    def as_json(self, with_evaluation: bool = True) -> Dict[str, Any]:
        return {"id": self.id, "config": self.config, "data_version": self.data_version, "status": self.status,
                "active": self.active, "created_by": self.created_by, "created_at": iso(self.created_at),
                "finished_at": iso(self.finished_at), "activated_at": iso(self.activated_at), "error": self.error,
                "note": self.note, "file": self.path.rsplit("/", 1)[-1],
                **({"evaluation": self.evaluation} if with_evaluation else {})}


def _version(row: TrainedModel, user: Optional[User]) -> ModelVersion:
    return ModelVersion(row.id, row.path, row.config, row.data_version, row.status, bool(row.active),
                        user.username if user else None, row.created_at, row.finished_at, row.activated_at,
                        row.error, row.evaluation, row.note)


class ModelStore:
    def __init__(self, sessions) -> None:
        self.sessions = sessions

    async def create(self, path: str, config: str, data_version: Optional[str], user_id: Optional[int],
                     status: str = "training", note: Optional[str] = None) -> ModelVersion:
        async with self.sessions() as session, session.begin():
            row = TrainedModel(path=path, config=config, data_version=data_version, status=status, active=False,
                               created_by=user_id, created_at=utcnow(), note=note)
            session.add(row)
            await session.flush()
            user = await session.get(User, user_id) if user_id else None
            return _version(row, user)

    async def set_path(self, model_id: int, path: str) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(TrainedModel).where(TrainedModel.id == model_id).values(path=path))

    async def get(self, model_id: int) -> Optional[ModelVersion]:
        async with self.sessions() as session:
            row = await session.get(TrainedModel, model_id)
            if row is None:
                return None
            return _version(row, await session.get(User, row.created_by) if row.created_by else None)

    async def list(self, limit: int = 50) -> List[ModelVersion]:
        async with self.sessions() as session:
            rows = (await session.execute(select(TrainedModel, User).outerjoin(User, User.id == TrainedModel.created_by)
                                          .order_by(TrainedModel.id.desc()).limit(limit))).all()
            return [_version(m, u) for m, u in rows]

    async def active(self) -> Optional[ModelVersion]:
        async with self.sessions() as session:
            row = (await session.execute(select(TrainedModel).where(TrainedModel.active.is_(True))
                                         .limit(1))).scalar_one_or_none()
            return _version(row, None) if row is not None else None

    async def finish(self, model_id: int, status: str, error: Optional[str] = None,
                     evaluation: Optional[Dict[str, Any]] = None) -> None:
        async with self.sessions() as session, session.begin():
            values: Dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error}
            if evaluation is not None:
                values["evaluation"] = evaluation
            await session.execute(update(TrainedModel).where(TrainedModel.id == model_id).values(**values))

    async def set_evaluation(self, model_id: int, evaluation: Dict[str, Any]) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(TrainedModel).where(TrainedModel.id == model_id).values(evaluation=evaluation))

    async def mark_active(self, model_id: int) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(update(TrainedModel).where(TrainedModel.active.is_(True)).values(active=False))
            await session.execute(update(TrainedModel).where(TrainedModel.id == model_id).values(
                active=True, activated_at=utcnow()))

    async def abandon_unfinished(self) -> None:
        """Training runs a crash interrupted are failed, not forever 'training'."""
        async with self.sessions() as session, session.begin():
            await session.execute(update(TrainedModel).where(TrainedModel.status == "training").values(
                status="failed", error="the server stopped while this model was training", finished_at=utcnow()))


class SettingsStore:
    """Settings changed in the console (they override the config file and environment) and the audit log."""

    def __init__(self, sessions) -> None:
        self.sessions = sessions

    async def overrides(self) -> Dict[str, Any]:
        async with self.sessions() as session:
            return {row.key: row.value for row in (await session.execute(select(SettingOverride))).scalars()}

    async def put(self, values: Dict[str, Any], user_id: Optional[int], action: str) -> None:
        async with self.sessions() as session, session.begin():
            before = {row.key: row.value for row in (await session.execute(
                select(SettingOverride).where(SettingOverride.key.in_(list(values))))).scalars()}
            for key, value in values.items():
                row = await session.get(SettingOverride, key)
                if row is None:
                    session.add(SettingOverride(key=key, value=value, updated_by=user_id, updated_at=utcnow()))
                else:
                    row.value, row.updated_by, row.updated_at = value, user_id, utcnow()
            session.add(AuditEntry(user_id=user_id, action=action, created_at=utcnow(),
                                   detail={"changes": {k: {"from": before.get(k), "to": v} for k, v in values.items()}}))

    async def audit(self, user_id: Optional[int], action: str, detail: Dict[str, Any]) -> None:
        async with self.sessions() as session, session.begin():
            session.add(AuditEntry(user_id=user_id, action=action, detail=detail, created_at=utcnow()))

    async def audit_log(self, limit: int = 100) -> List[Dict[str, Any]]:
        async with self.sessions() as session:
            rows = (await session.execute(select(AuditEntry, User).outerjoin(User, User.id == AuditEntry.user_id)
                                          .order_by(AuditEntry.id.desc()).limit(limit))).all()
        return [{"id": a.id, "user": u.username if u else None, "action": a.action, "detail": a.detail,
                 "at": iso(a.created_at)} for a, u in rows]
