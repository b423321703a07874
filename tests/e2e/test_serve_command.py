"""`baton serve --demo`, the command behind `make run`, as a newcomer runs it: a real process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import aiohttp

from bot.settings import PROJECT_ROOT
from tests.support import free_port


class ServeProcess:
    """`baton serve` in a subprocess; its output lines are collected as they come."""

    def __init__(self, *args: str, env: Optional[Dict[str, str]] = None) -> None:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", *args], cwd=PROJECT_ROOT,
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: List[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, needle: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in line for line in self.lines):
                return
            if self.process.poll() is not None:
                time.sleep(0.2)  # let the reader drain
                raise AssertionError(f"serve exited ({self.process.returncode}):\n" + "\n".join(self.lines))
            time.sleep(0.2)
        raise AssertionError(f"no {needle!r} in:\n" + "\n".join(self.lines))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(10)


async def test_serve_demo_prints_working_urls_and_logins(tmp_path: Path, model_path: Path):
    port = free_port()
    db = f"sqlite+aiosqlite:///{tmp_path}/serve.db"
    serve = ServeProcess("--demo", "--port", str(port), "--database-url", db, "--model", str(model_path))
    try:
        serve.wait_for_line("Stop with Ctrl+C.")
        # It listens at once; the model loads in the background and says when it is ready.
        serve.wait_for_line("The bot is ready")
        output = "\n".join(serve.lines)
        base = f"http://127.0.0.1:{port}"
        assert f"Customer chat (demo shop): {base}/" in output
        assert f"Agent console:             {base}/console" in output
        assert re.search(r"Model: +(loading \(messages wait for it\)|ready)", output), output
        logins = re.findall(r"^\s+(agent|trainer|admin)\s+(\S+) / (\S+)$", output, re.MULTILINE)
        assert sorted(role for role, _, _ in logins) == ["admin", "agent", "trainer"], output
        assert "Warning" not in output and "Traceback" not in output, output

        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{base}/") as page:
                assert page.status == 200 and "widget.js" in await page.text()
            async with http.get(f"{base}/console") as page:
                assert page.status == 200
            for role, username, password in logins:  # every printed login works, with its role
                async with http.post(f"{base}/api/login", json={"username": username, "password": password}) as r:
                    assert r.status == 200, await r.text()
                async with http.get(f"{base}/api/me") as r:
                    assert (await r.json())["user"]["role"] == role
                await http.post(f"{base}/api/logout")
            async with http.post(f"{base}/webhooks/rest/webhook", json={"sender": "newcomer", "message": "hi"}) as r:
                replies = await r.json()
            assert r.status == 200 and replies and replies[0]["text"], replies

        # A second `make run` while the first is up: a clear message, not a traceback.
        second = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--database-url",
                                 db, "--model", str(model_path)], cwd=PROJECT_ROOT, capture_output=True,
                                text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        assert f"cannot listen on 127.0.0.1:{port}" in second.stderr and "already running" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        assert serve.stop() == 0, "\n".join(serve.lines)


def test_serve_that_cannot_start_says_why_in_one_line_and_exits(tmp_path: Path, model_path: Path):
    """A database that is not there: the operator reads the reason and gets the prompt back."""
    port = free_port()
    serve = ServeProcess("--port", str(port), "--model", str(model_path),
                         "--database-url", f"postgresql+asyncpg://baton@127.0.0.1:{free_port()}/nowhere")
    try:
        code = serve.process.wait(120)
    finally:
        serve.stop()
    time.sleep(0.2)   # let the reader drain
    output = "\n".join(serve.lines)
    assert code == 1, output
    assert "error: Baton could not start: cannot reach the database" in output
    assert "BATON_DATABASE_URL" in output and "Traceback" not in output
