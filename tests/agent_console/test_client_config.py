"""The console's config: labels for every handoff reason, colour bands, limits, and who may read it.

No model is loaded: the app runs with its engine never started, which /api/config never touches.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from agent_console.client_config import HANDOFF_REASON_LABELS, amber_below, client_config
from bot import agent_actions
from bot.app import create_app
from bot.domain import HandoffReason
from bot.engine import RasaEngine
from tests.support import http_session, make_settings


def test_every_handoff_reason_has_a_label():
    assert set(HANDOFF_REASON_LABELS) == set(HandoffReason)
    for reason, label in HANDOFF_REASON_LABELS.items():
        assert label.strip() and label != reason.value, reason


def test_the_json_keys_reasons_by_their_wire_value():
    config = client_config(0.9, 4000)
    assert config.handoff_reasons["low_confidence"] == HANDOFF_REASON_LABELS[HandoffReason.LOW_CONFIDENCE]
    assert sorted(config.handoff_reasons) == sorted(r.value for r in HandoffReason)


@pytest.mark.parametrize("threshold, expected", [(0.9, 0.95), (0.65, 0.825), (0.55, 0.775), (1.0, 1.0), (0.0, 0.5)])
def test_amber_band_runs_from_the_threshold_halfway_to_certainty(threshold, expected):
    assert amber_below(threshold) == pytest.approx(expected)
    assert threshold <= amber_below(threshold) <= 1.0


def test_the_agent_limit_is_the_one_agent_actions_enforce(monkeypatch):
    assert client_config(0.9, 4000).max_agent_message_chars == agent_actions.MAX_AGENT_TEXT == 10_000
    monkeypatch.setattr(agent_actions, "MAX_AGENT_TEXT", 25)
    assert client_config(0.9, 4000).max_agent_message_chars == 25


@pytest.fixture
async def baton(tmp_path):
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/config.db", Path("never-loaded.tar.gz"),
                             confidence_threshold=0.7, max_message_chars=1234)
    app = create_app(settings, engine=RasaEngine(settings.model_path), wait_for_model=False)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


async def config_as(server: TestServer, role: str):
    services = server.app["services"]
    await services.accounts.create_user(f"{role}-config", "pw-config-long-enough", role, role.title(), 5)
    async with http_session() as http:
        async with http.post(server.make_url("/api/login"),
                             json={"username": f"{role}-config", "password": "pw-config-long-enough"}) as r:
            assert r.status == 200, await r.text()
        async with http.get(server.make_url("/api/config")) as r:
            return r.status, await r.json()


@pytest.mark.parametrize("role", ["agent", "trainer", "admin"])
async def test_every_console_role_reads_the_live_values(baton, role):
    status, body = await config_as(baton, role)
    assert status == 200, body
    assert body == {
        "handoff_reasons": {r.value: HANDOFF_REASON_LABELS[r] for r in HandoffReason},
        "confidence_threshold": 0.7,
        "confidence_amber_below": 0.85,
        "max_agent_message_chars": 10_000,
        "max_customer_message_chars": 1234,
    }


async def test_without_a_login_there_is_no_config(baton):
    async with http_session() as http:
        async with http.get(baton.make_url("/api/config")) as r:
            assert r.status == 401
            assert (await r.json())["error"] == "unauthenticated"
