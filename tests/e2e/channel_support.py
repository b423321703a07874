"""What the provider-channel tests share: a live Baton configured by a credentials file, an agent, waits."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

import yaml

from tests.support import LiveServer, add_user, api, http_session, login, make_settings

PUBLIC_URL = "https://baton.example.test"   # what providers are told; a proxy leads it to the live server


async def start_baton(folder: Path, credentials: Dict[str, Any], engine: Any, model: Path,
                      **overrides: Any) -> LiveServer:
    """A live Baton (SQLite) with these channel credentials, started off this loop (fakes run on it)."""
    path = folder / "credentials.yml"
    path.write_text(yaml.safe_dump(credentials), encoding="utf-8")
    settings = make_settings(f"sqlite+aiosqlite:///{folder}/baton.db", model, credentials=path,
                             public_url=PUBLIC_URL, delivery_base_delay_seconds=0.2, **overrides)
    # Browsers in the tests open the console at the server's own address, not through the proxy.
    settings.console_origins = [f"http://127.0.0.1:{settings.port}"]
    live = LiveServer(settings, engine)
    return await asyncio.get_running_loop().run_in_executor(None, live.start)


async def stop_baton(live: LiveServer) -> None:
    await asyncio.get_running_loop().run_in_executor(None, live.stop)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 30.0, every: float = 0.1) -> Any:
    """Poll until `check` returns something truthy; its last answer is in the failure message."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"not within {timeout}s; last seen: {last!r}")


async def conversation_of(live: LiveServer, channel: str, external_id: str) -> Optional[int]:
    return await live.acall(live.services.conversations.latest_conversation_for(channel, external_id))


async def detail(live: LiveServer, conversation_id: int) -> Dict[str, Any]:
    async with http_session() as http:
        status, body = await api(http, live, f"/api/conversations/{conversation_id}")
    assert status == 200, body
    return body


async def messages(live: LiveServer, conversation_id: int) -> List[Dict[str, Any]]:
    return (await detail(live, conversation_id))["messages"]


async def delivery_of(live: LiveServer, conversation_id: int, text: str) -> Optional[Dict[str, Any]]:
    """The delivery of the message a provider received as `text` (buttons may have become numbered lines)."""
    for message in await messages(live, conversation_id):
        if message["sender"] != "customer" and message["text"] and (
                text == message["text"] or text.startswith(message["text"] + "\n")):
            return message["delivery"]
    return None


async def delivered_as(live: LiveServer, conversation_id: int, text: str, provider_status: str,
                       timeout: float = 20.0) -> Dict[str, Any]:
    """Wait until the message with `text` shows `provider_status` (delivered, read) in the API."""
    async def check():
        delivery = await delivery_of(live, conversation_id, text)
        return delivery if delivery and delivery.get("provider_status") == provider_status else None
    return await eventually(check, timeout)


class Agent:
    """A person at the console, over the HTTP API with a login cookie."""

    def __init__(self, live: LiveServer) -> None:
        self.live = live
        self.http = http_session()
        self.name = ""

    async def __aenter__(self) -> "Agent":
        username, password, _ = await add_user(self.live, "agent", display_name="Sam")
        self.name = "Sam"
        await login(self.http, self.live, username, password)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.http.close()

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple:
        async with self.http.request(method, self.live.url + path, **kwargs) as response:
            return response.status, await response.json()

    async def reply(self, conversation_id: int, text: str) -> tuple:
        return await self.call("POST", f"/api/conversations/{conversation_id}/reply", json={"text": text})

    async def context(self, conversation_id: int) -> Dict[str, Any]:
        status, body = await self.call("GET", f"/api/conversations/{conversation_id}/context")
        assert status == 200, body
        return body


async def settle(live: LiveServer) -> None:
    """Background turns done, listeners done, the outbox sent what is due."""
    await live.acall(live.services.flow.drain())
    await live.settled()
    await live.acall(live.services.outbox_worker.send_due())
    await live.settled()
