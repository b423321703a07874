"""Fixtures for the fast unit tests: a real (temporary SQLite) store, a bus, a fake engine."""

from __future__ import annotations

import tempfile

import pytest

from bot.events import EventBus
from bot.store import Store
from bot.store.database import migrate
from tests.bot.fakes import FakeEngine


@pytest.fixture(scope="session")
async def migrated_url():
    with tempfile.TemporaryDirectory(prefix="baton-unit-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/unit.db"
        await migrate(url)
        yield url


@pytest.fixture
async def store(migrated_url):
    opened = Store.open(migrated_url)
    yield opened
    await opened.close()


@pytest.fixture
async def bus():
    events = EventBus()
    yield events
    await events.close()


@pytest.fixture
def fake() -> FakeEngine:
    return FakeEngine()
