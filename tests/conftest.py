"""Fixtures shared by the whole suite: one trained model, one loaded engine, live servers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from bot.engine import RasaEngine  # noqa: E402
from tests.support import (  # noqa: E402
    FaultInjectingEngine, LiveServer, create_pg_database, drop_pg_database, make_settings,
    trained_fast_model,
)


@pytest.fixture(scope="session")
def model_path() -> Path:
    return trained_fast_model()


@pytest.fixture(scope="session")
def engine(model_path: Path):
    engine = RasaEngine(model_path, timeout=5.0)
    engine.start()
    assert engine.wait_ready_blocking(180), engine.error
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def faulty_engine(engine) -> FaultInjectingEngine:
    return FaultInjectingEngine(engine)


@pytest.fixture(scope="session")
def sqlite_url():
    with tempfile.TemporaryDirectory(prefix="baton-test-") as tmp:
        yield f"sqlite+aiosqlite:///{tmp}/baton.db"


@pytest.fixture(scope="session")
def postgres_url():
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(request, faulty_engine, model_path):
    """A live Baton on each database; tests keep to their own customers, so one server serves many."""
    url = request.getfixturevalue(f"{request.param}_url")
    live = LiveServer(make_settings(url, model_path), faulty_engine).start()
    live.backend = request.param
    yield live
    live.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_database(request, tmp_path):
    """An empty database of each kind, for one test whose servers restart on the same data."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/fresh.db"
        return
    url = create_pg_database()
    yield url
    drop_pg_database(url)


@pytest.fixture
def start_server(faulty_engine, model_path, tmp_path):
    """Start live servers of the test's own (own limits and counters, own database unless given).

    Per-address counters cannot be shared: every test client is 127.0.0.1 to a shared server.
    """
    started = []

    def start(database_url=None, engine=None, **overrides) -> LiveServer:
        url = database_url or f"sqlite+aiosqlite:///{tmp_path}/dedicated-{len(started)}.db"
        live = LiveServer(make_settings(url, model_path, **overrides), engine or faulty_engine).start()
        started.append(live)
        return live

    yield start
    for live in reversed(started):
        live.stop()
