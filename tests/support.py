"""Test helpers: the shared trained model, a live Baton server in a thread, clients."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import tempfile
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

from aiohttp import web

from bot.app import create_app
from bot.engine import RasaEngine
from bot.settings import PROJECT_ROOT, Settings

PG_ADMIN_URL = os.environ.get("BATON_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = "redis://127.0.0.1:6379/0"
CACHE = PROJECT_ROOT / ".cache" / "test-model"


def data_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in sorted(os.listdir(PROJECT_ROOT / "data")):
        path = PROJECT_ROOT / "data" / name
        if path.is_file():
            digest.update(name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def trained_fast_model() -> Path:
    """Train data/ with the fast config once per data version; every test shares it."""
    model = CACHE / f"fast-{data_fingerprint()}.tar.gz"
    if not model.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "bot.cli", "train", "--fast", "--out", str(model)],
                       cwd=PROJECT_ROOT, check=True)
    return model


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FaultInjectingEngine:
    """Wraps the real engine; when armed, the next call fails inside the engine thread."""

    def __init__(self, real: RasaEngine) -> None:
        self._real = real
        self.fail_next: Optional[str] = None  # "crash" | "timeout"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def respond(self, *args, **kwargs):
        if self.fail_next == "crash":
            self.fail_next = None

            async def explode(agent):
                raise RuntimeError("injected fault inside the bot")

            return await self._real._call(explode)
        if self.fail_next == "timeout":
            self.fail_next = None

            async def stall(agent):
                await asyncio.sleep(self._real.timeout + 5)

            return await self._real._call(stall)
        return await self._real.respond(*args, **kwargs)


class LiveServer:
    """A real Baton server on a real port, in a thread with its own event loop."""

    def __init__(self, settings: Settings, engine: Any) -> None:
        self.settings = settings
        self.engine = engine
        self.port = settings.port
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self.app: Optional[web.Application] = None
        self._started = threading.Event()
        self._error: Optional[BaseException] = None

    def start(self) -> "LiveServer":
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self.app = create_app(self.settings, engine=self.engine)
                self._runner = web.AppRunner(self.app)
                self._loop.run_until_complete(self._runner.setup())
                site = web.TCPSite(self._runner, "127.0.0.1", self.port)
                self._loop.run_until_complete(site.start())
            except BaseException as exc:  # surfaced to the test that started us
                self._error = exc
                self._started.set()
                return
            self._started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        self._started.wait(180)
        if self._error:
            raise self._error
        return self

    @property
    def services(self):
        return self.app["services"]

    def call(self, coro, timeout: float = 30):
        """Run a coroutine on the server's loop (for seeding and inspecting its store)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def acall(self, coro, timeout: float = 30):
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def settled(self) -> None:
        """Wait until the server's listeners handled every event so far (they run off the turn)."""
        for _ in range(3):  # a listener may publish in turn (auto-assignment does)
            await self.acall(self.services.bus.drain())

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        asyncio.run_coroutine_threadsafe(_cancel_leftover_tasks(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()
        self._loop = None  # stopping twice (a test that restarts, then the fixture) is harmless


async def _cancel_leftover_tasks() -> None:
    """Engine.IO keeps ping tasks per socket; ending them here keeps the run's output readable."""
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def screenshot_path(name: str) -> Path:
    """Where a browser test saves a screenshot: docs/ when refreshing the docs' pictures
    (`make screenshots`, BATON_UPDATE_SCREENSHOTS=1), else test-artifacts/, so a test run leaves
    the work tree clean."""
    folder = PROJECT_ROOT / ("docs" if os.environ.get("BATON_UPDATE_SCREENSHOTS") else "test-artifacts")
    folder.mkdir(exist_ok=True)
    return folder / name


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}


def make_settings(database_url: str, model: Path, **overrides: Any) -> Settings:
    values: Dict[str, Any] = dict(database_url=database_url, model_path=model, port=free_port(),
                                  secret_key="test-secret-" + uuid.uuid4().hex, admin_token="test-admin-token",
                                  identity_secret="test-identity-secret",
                                  # every test client is 127.0.0.1: per-address limits would count the
                                  # whole suite as one client (tests of those limits set their own)
                                  login_attempts_per_minute_per_address=10_000,
                                  new_sessions_per_minute_per_ip=10_000,
                                  # The thresholds `baton evaluate` learned (data/handoff_thresholds.yml)
                                  # apply: the fast config shares the production NLU pipeline.
                                  bot_timeout_seconds=5.0)
    if "data_dir" not in overrides:
        # A server's own copy of data/: the workbench API edits and trains what it is given, and a
        # test must never change the project's own files.
        copy = Path(tempfile.mkdtemp(prefix="baton-test-data-")) / "data"
        shutil.copytree(PROJECT_ROOT / "data", copy)
        values["data_dir"] = copy
        values["models_dir"] = copy.parent / "models"
    values.update(overrides)
    return Settings(**values)


@contextlib.contextmanager
def redis_worker_pair(database_url: str, model: Path, engine: Any, name: str):
    """Two live servers as two workers: one database, one secret (sessions signed on one verify on
    the other), one Redis channel, unique to this run so nothing else on the Redis server hears it.
    Both are stopped on leaving (the first too, if the second fails to start)."""
    shared = dict(secret_key=f"{name}-{uuid.uuid4().hex}", redis_url=REDIS_URL,
                  redis_channel=f"baton-{name}-{uuid.uuid4().hex}")
    with contextlib.ExitStack() as stack:
        a = LiveServer(make_settings(database_url, model, **shared), engine).start()
        stack.callback(a.stop)
        b = LiveServer(make_settings(database_url, model, **shared), engine).start()
        stack.callback(b.stop)
        yield a, b


def create_pg_database() -> str:
    """A uniquely named database per test run (CI reuses the server as sessions left it)."""
    import asyncpg

    name = f"baton_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


async def rest(session, server: LiveServer, sender: str, message: str, **extra: Any) -> List[Dict[str, Any]]:
    async with session.post(f"{server.url}/webhooks/rest/webhook",
                            json={"sender": sender, "message": message, **extra}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def api(session, server: LiveServer, path: str, method: str = "GET", **kwargs: Any):
    headers = {"Authorization": f"Bearer {server.settings.admin_token}"}
    async with session.request(method, f"{server.url}{path}", headers=headers, **kwargs) as response:
        return response.status, await response.json()


def from_address(address: Optional[str]):
    """An HTTP session whose connections leave from `address` (any of 127.0.0.0/8 reaches the server).

    Lets one test play customers on different networks: the server sees each as its own peer.
    """
    import aiohttp

    if address is None:
        return None
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)),
                                 cookie_jar=aiohttp.CookieJar(unsafe=True))


def strict_json(text: str | bytes) -> Any:
    """Parse JSON as a browser does: `NaN`, `Infinity` and `-Infinity` are syntax errors."""
    import json

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


class WebChatClient:
    """A customer speaking Rasa's socketio protocol with a plain python-socketio client.

    With `baton_protocol`, it asks for Baton's richer shape (sender, agent_name, message_id,
    history on resume), as Baton's own widget does; without, it is any Rasa widget. With
    `address`, its connection leaves from that loopback address (another customer's network).
    """

    def __init__(self, server: LiveServer, headers: Optional[Dict[str, str]] = None,
                 baton_protocol: bool = False, address: Optional[str] = None, also: tuple = ()) -> None:
        import socketio

        self.server = server
        self.headers = headers or {}
        self.baton_protocol = baton_protocol
        self.confirmed: Any = None  # the last session_confirm payload, as sent
        self._http = from_address(address)
        self.sio = socketio.AsyncClient(reconnection=False, http_session=self._http)
        self.events: "asyncio.Queue[tuple]" = asyncio.Queue()
        self.session_id: Optional[str] = None
        for name in ("session_confirm", "bot_uttered", "history", "error", "typing", *also):  # also: queue_status
            self.sio.on(name, self._recorder(name))

    def _recorder(self, name: str):
        async def record(data=None):
            await self.events.put((name, data))

        return record

    async def connect(self) -> "WebChatClient":
        await self.sio.connect(self.server.url, transports=["websocket"], socketio_path="/socket.io",
                               headers=self.headers)
        return self

    async def next(self, *names: str, timeout: float = 20) -> tuple:
        """The next event among `names` (others are skipped)."""
        while True:
            name, data = await asyncio.wait_for(self.events.get(), timeout)
            if not names or name in names:
                return name, data

    async def start_session(self, session_id: Optional[str] = None) -> str:
        request: Dict[str, Any] = {"session_id": session_id}
        if self.baton_protocol:
            request["baton_protocol"] = 1
        await self.sio.emit("session_request", request)
        _, data = await self.next("session_confirm")
        self.confirmed = data
        self.session_id = data if isinstance(data, str) else data["session_id"]
        return self.session_id

    async def say(self, text: str, **extra: Any) -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id, **extra})

    async def replies_until_quiet(self, quiet: float = 1.5, first_timeout: float = 20) -> List[Dict[str, Any]]:
        """Collect bot_uttered events: wait for the first, then until none arrive for `quiet` s."""
        replies = []
        _, first = await self.next("bot_uttered", timeout=first_timeout)
        replies.append(first)
        while True:
            try:
                _, data = await self.next("bot_uttered", timeout=quiet)
            except asyncio.TimeoutError:
                return replies
            replies.append(data)

    async def close(self) -> None:
        await self.sio.disconnect()
        if self._http is not None:
            await self._http.close()


async def add_user(server: LiveServer, role: str, name: Optional[str] = None,
                   display_name: Optional[str] = None) -> tuple:
    """Create an account on the live server; returns (username, password, id)."""
    username = name or f"{role}-{uuid.uuid4().hex[:8]}"
    # Ends in letters: an all-digit random part would leave the policy only "pw" to judge (a "pattern").
    password = "pw-" + uuid.uuid4().hex[:12] + "-kq"
    user = await server.acall(server.services.accounts.create_user(username, password, role,
                                                                   display_name or username.title(), 5))
    return username, password, user.id


async def login(session, server: LiveServer, username: str, password: str) -> str:
    async with session.post(f"{server.url}/api/login", json={"username": username, "password": password}) as r:
        assert r.status == 200, await r.text()
        return r.cookies["baton_session"].value


async def logged_in(server: LiveServer, role: str, display_name: Optional[str] = None) -> tuple:
    """A fresh account, logged in over HTTP; returns (session token, user id)."""
    username, password, user_id = await add_user(server, role, display_name=display_name)
    async with http_session() as http:
        return await login(http, server, username, password), user_id


async def conversation_id_of(server: LiveServer, session_id: str) -> Optional[int]:
    """The conversation the server keeps for a web chat session (None: nothing stored yet)."""
    identity = server.services.webchat.signer.verify(session_id)
    assert identity, f"{session_id!r} is not a session id this server issued"
    return await server.acall(server.services.conversations.latest_conversation_for("webchat", identity))


async def conversation_detail(http, server: LiveServer, conversation_id: int) -> Dict[str, Any]:
    status, body = await api(http, server, f"/api/conversations/{conversation_id}")
    assert status == 200, body
    return body


class AgentClient:
    """An agent console's Socket.IO connection to /agents."""

    def __init__(self, server: LiveServer, token: str, **client_options: Any) -> None:
        import socketio

        self.server = server
        self.token = token
        self.sio = socketio.AsyncClient(reconnection=False, **client_options)
        self.events: "asyncio.Queue[tuple]" = asyncio.Queue()
        self.ended = asyncio.Event()  # the server closed the namespace (logout, deactivation, expiry)
        for name in ("queue", "conversation", "message", "typing", "presence", "handoff", "delivery", "review_item",
                     "reviewed", "model", "settings"):
            self.sio.on(name, self._recorder(name), namespace="/agents")
        self.sio.on("disconnect", lambda *reason: self.ended.set(), namespace="/agents")

    def _recorder(self, name: str):
        async def record(data=None):
            await self.events.put((name, data))

        return record

    async def connect(self, cookie: bool = True) -> "AgentClient":
        headers = {"Cookie": f"baton_session={self.token}"} if cookie else {}
        await self.sio.connect(self.server.url, namespaces=["/agents"], transports=["websocket"],
                               headers=headers, auth=None if cookie else {"token": self.token})
        return self

    async def call(self, event: str, data: Dict[str, Any], timeout: float = 20) -> Dict[str, Any]:
        return await self.sio.call(event, data, namespace="/agents", timeout=timeout)

    async def wait_for(self, name: str, predicate=lambda d: True, timeout: float = 20):
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            event, data = await asyncio.wait_for(self.events.get(), max(remaining, 0.01))
            if event == name and predicate(data):
                return data

    async def close(self) -> None:
        await self.sio.disconnect()


def http_session():
    """A client session that keeps cookies for 127.0.0.1 (aiohttp drops IP-host cookies by default)."""
    import aiohttp

    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
