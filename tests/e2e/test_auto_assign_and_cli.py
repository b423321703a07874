"""Auto-assignment to the least busy online agent, and the `baton users add` command."""

from __future__ import annotations

import subprocess
import sys
import uuid

from bot.settings import PROJECT_ROOT
from tests.support import AgentClient, LiveServer, add_user, api, http_session, login, make_settings, rest


async def test_auto_assign_picks_the_least_busy_online_agent(tmp_path, faulty_engine, model_path):
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/auto.db", model_path, auto_assign=True)
    server = LiveServer(settings, faulty_engine).start()
    try:
        busy = await add_user(server, "agent")
        idle = await add_user(server, "agent")
        offline = await add_user(server, "agent")
        clients = []
        async with http_session() as http:
            for username, password, _ in (busy, idle):
                clients.append(await AgentClient(server, await login(http, server, username, password)).connect())
            # busy already holds one conversation
            await rest(http, server, "warmup", "I want to talk to a person")
            await server.settled()
            status, body = await api(http, server, "/api/conversations?status=assigned&external_id=warmup")
            first_owner = body["conversations"][0]["assignee"]["id"]
            assert first_owner in (busy[2], idle[2])
            await rest(http, server, "second", "I want to talk to a person")
            await server.settled()
            status, body = await api(http, server, "/api/conversations?status=assigned&external_id=second")
            second_owner = body["conversations"][0]["assignee"]["id"]
            assert second_owner != first_owner and offline[2] not in (first_owner, second_owner)
        for client in clients:
            await client.close()
    finally:
        server.stop()


def test_users_add_command_creates_an_account(tmp_path):
    db = f"sqlite:///{tmp_path}/cli.db"
    name = f"cli-{uuid.uuid4().hex[:6]}"
    run = subprocess.run([sys.executable, "-m", "bot.cli", "users", "add", name, "--role", "trainer",
                          "--password", "long-enough-secret", "--database-url", db],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"Created trainer '{name}'" in run.stdout
    again = subprocess.run([sys.executable, "-m", "bot.cli", "users", "add", name, "--role", "trainer",
                            "--password", "long-enough-secret", "--database-url", db],
                           cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = subprocess.run([sys.executable, "-m", "bot.cli", "users", "add", "x", "--role", "boss",
                          "--password", "pw", "--database-url", db], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    for weak, why in (("short-pw", "at least 12"), ("password1234", "too common"),
                      (f"{name}-2-is-me-2026", "must not contain the username")):
        refused = subprocess.run([sys.executable, "-m", "bot.cli", "users", "add", f"{name}-2", "--role", "agent",
                                  "--password", weak, "--database-url", db], cwd=PROJECT_ROOT,
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1 and why in refused.stderr, (weak, refused.stderr)


def test_every_command_has_help():
    for command in (["--help"], ["train", "--help"], ["serve", "--help"], ["evaluate", "--help"],
                    ["users", "add", "--help"]):
        run = subprocess.run([sys.executable, "-m", "bot.cli", *command], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and "usage: baton" in run.stdout, command
