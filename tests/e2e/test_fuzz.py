"""Fuzz: hundreds of malformed inputs to every HTTP route and every Socket.IO event.

Inputs come from a seeded generator, so a failure reproduces: the seed is printed, and every
failure names the exact input. Set BATON_FUZZ_SEED to explore other inputs (BATON_FUZZ_SCALE
for more of them). Routes are read from the app's router and events from the namespaces'
`on_*` handlers, so a new route or event is fuzzed without anyone remembering to add it here.

What must hold, for every input:
- HTTP: never a 5xx; a refusal under /api/ or /webhooks/ is JSON with `error` and `message`.
- Socket.IO: every event sent with an ack gets its answer; a refusal is `{ok: false, error,
  message}`; input that is malformed by construction (a non-finite number, a 101-digit
  integer, nesting deeper than 32, a lone surrogate, an unknown event, a packet that is not
  JSON) is refused; no event fails inside the server (`error: internal`).
- Afterwards the server still answers a normal REST message, a web chat message and an agent event.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import aiohttp
import pytest
import socketio
from yarl import URL

from agent_console import schemas
from agent_console.namespace import AgentNamespace
from bot.channels.webchat import WebChatNamespace
from tests.support import (
    AgentClient, LiveServer, WebChatClient, add_user, create_pg_database, drop_pg_database, login,
    make_settings, rest, strict_json,
)

SEED = int(os.environ.get("BATON_FUZZ_SEED", "1313"))
SCALE = float(os.environ.get("BATON_FUZZ_SCALE", "1"))   # e.g. 10 for a longer hunt
# Each database gets its own inputs: a body-taking route gets 2 x 70 bodies as admin and 2 x 10
# anonymous, a route without a body 2 x 22 paths, queries and headers; each namespace 2 x 180
# events and 2 x 40 raw packets. At scale 1 all of it takes about a minute on a 2-core machine.
BODIES_PER_ROUTE = round(70 * SCALE)
PATHS_PER_ROUTE = round(12 * SCALE)
ANONYMOUS_PER_ROUTE = round(10 * SCALE)
EVENTS_PER_NAMESPACE = round(180 * SCALE)
RAW_PACKETS_PER_NAMESPACE = round(40 * SCALE)
SYSTEM_EVENTS = ("connect", "disconnect")
UNLIMITED = 1_000_000        # the fuzz should reach the code behind the rate limits


# ---- values --------------------------------------------------------------------------------------

class Poison:
    """Values refused wherever they appear in a payload (jsonsafe's rules)."""

    NON_FINITE = (float("nan"), float("inf"), float("-inf"))
    HUGE_INT = 10 ** 120


ODD_STRINGS = ["", " ", "\t\n", "x" * 5000, "x" * 70_000, "a\x00b", "\x00", "🙂" * 50, "\u202egnp.exe",
               "<script>alert(1)</script>", "'; DROP TABLE users; --", "../../etc/passwd", "%s%n%x",
               "²", "١٢٣", "0x10", "1e3", "-5", "9" * 40, "null", "true", "[]", "{}", "\\u0000", "\r\n\r\n"]
ODD_NUMBERS = [0, -1, 1, 2 ** 31, 2 ** 63 - 1, 2 ** 63, 2 ** 64, -(2 ** 63) - 1, 10 ** 99, 1.5, -0.0, 1e308,
               5e-324, True, False]


def odd_value(rng: random.Random, depth: int = 0) -> Any:
    """A value of the wrong type, size or content, but one jsonsafe alone would not refuse."""
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(ODD_STRINGS)
    if roll < 0.65:
        return rng.choice(ODD_NUMBERS)
    if roll < 0.75 or depth > 3:
        return None
    if roll < 0.88:
        return [odd_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(ODD_STRINGS[:12]) or "k": odd_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def poison_value(rng: random.Random, socketio_rules: bool) -> Any:
    options: List[Any] = [*Poison.NON_FINITE, Poison.HUGE_INT, -Poison.HUGE_INT, nested(rng.randint(34, 200))]
    if socketio_rules:  # Socket.IO payloads are checked whole, surrogates included
        options += ["\ud800", "lone \udfff surrogate"]
    return rng.choice(options)


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


# ---- bodies in the shapes Baton expects ----------------------------------------------------------

@dataclass
class Known:
    """Ids that exist on the fuzzed server, so mutated bodies also reach real rows."""

    conversation_id: int
    message_id: int
    agent_id: int
    canned_id: int


def valid_values(known: Known) -> Dict[str, Any]:
    return {"sender": "fuzz-" + uuid.uuid4().hex[:6], "message": "hello", "metadata": {"page": "/"},
            "message_id": known.message_id, "text": "hello there", "agent_id": known.agent_id,
            "intent": "greet", "out_of_scope": False, "typing": True, "username": "fuzz-user",
            "password": "Fuzzy-" + uuid.uuid4().hex[:10], "role": "agent", "display_name": "Fuzz",
            "capacity": 3, "active": True, "shortcut": "fz" + uuid.uuid4().hex[:4], "status": "away",
            "after_id": 0, "conversation_id": known.conversation_id, "session_id": None,
            "customData": {"page": "/"}, "baton_protocol": 1, "message_ids": [known.message_id],
            "action": "dismiss", "example": "hello there", "version": None, "examples": ["fuzzy example"],
            "old": "hello", "new": "hello again", "from_intent": "greet", "to_intent": "goodbye", "name": "fuzz_intent",
            "response": "A fuzzed answer.", "texts": ["A fuzzed answer."], "config": "config-fast.yml",
            "email": "fuzz@example.com", "closing_message": "Bye for now", "ask_rating": True, "tag": "fuzz",
            "remove": False, "score": 4}


def body_shapes() -> List[Tuple[str, ...]]:
    """The field sets Baton reads: every console schema, the REST message and the web chat events."""
    shapes = set()
    pending = [schemas.Body]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        if model.__fields__:
            shapes.add(tuple(sorted(model.__fields__)))
    shapes |= {("message", "message_id", "metadata", "sender"), ("customData", "message", "session_id"),
               ("typing",), ("baton_protocol", "session_id"), ("email", "message", "session_id"),
               ("message_id", "score")}
    return sorted(shapes)


class Generator:
    def __init__(self, seed: str, known: Known) -> None:
        self.rng = random.Random(seed)
        self.known = known
        self.shapes = body_shapes()
        self.keys = sorted({key for shape in self.shapes for key in shape})

    def payload(self, socketio_rules: bool) -> Tuple[Any, bool]:
        """A JSON-able value and whether it is malformed by construction."""
        rng = self.rng
        valid = valid_values(self.known)
        roll = rng.random()
        if roll < 0.55:   # a real shape with one field spoiled, maybe one missing, maybe extras
            shape = list(rng.choice(self.shapes))
            body = {key: valid[key] for key in shape}
            spoiled = rng.choice(shape)
            poisoned = rng.random() < 0.3
            body[spoiled] = poison_value(rng, socketio_rules) if poisoned else odd_value(rng)
            if len(shape) > 1 and rng.random() < 0.3:
                body.pop(rng.choice([k for k in shape if k != spoiled]))
            if rng.random() < 0.3:
                body[rng.choice(self.keys + ["extra", "__proto__", "constructor"])] = odd_value(rng)
            return body, poisoned
        if roll < 0.8:    # any keys Baton knows, any values
            body = {rng.choice(self.keys): odd_value(rng) for _ in range(rng.randint(0, 6))}
            if rng.random() < 0.2:
                body[rng.choice(self.keys)] = poison_value(rng, socketio_rules)
                return body, True
            return body, False
        if roll < 0.9:    # not an object at all
            return odd_value(rng), False
        return poison_value(rng, socketio_rules), True

    def http_body(self) -> Tuple[bytes, Optional[str], str]:
        """Bytes, a content type (None: no header) and a label saying what was sent."""
        rng = self.rng
        content_type = rng.choice(["application/json"] * 6 + [
            None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=zz",
            "application/json; charset=latin-1"])
        roll = rng.random()
        if roll < 0.7:
            value, _ = self.payload(socketio_rules=False)
            text = json.dumps(value)   # python's json writes NaN and Infinity: exactly the point
            return text.encode("utf-8", "surrogatepass"), content_type, f"json {text[:160]!r}"
        raw = rng.choice([
            b"", b"null", b"[]", b"123", b'"s"', b"{", b'{"sender": }', b'{"sender": "x", "message": "hi"',
            b"\xff\xfe\xfd", b"\xef\xbb\xbf{}", b'{"a": 1e999}', b'{"a": -1e999}', b"[" * 5000,
            b"[" * 40 + b"]" * 40, b"[" * 20_000 + b"]" * 20_000, b'{"n": ' + b"9" * 5000 + b"}",
            b'{"message": "a", "message": {"b": 1}}', b"\x00" * 16, b"x" * 70_000,
            b'{"text": "' + b"\\ud800" + b'"}', b'{"text": "\\u0000"}', rng.randbytes(rng.randint(1, 300))])
        return raw, content_type, f"raw {raw[:160]!r}"

    def path_id(self) -> str:
        rng = self.rng
        return rng.choice([str(self.known.conversation_id), str(self.known.message_id), str(self.known.agent_id),
                           str(self.known.canned_id), "0", "-1", "abc", "1.5", "99999999999999999999",
                           "18446744073709551616", "9223372036854775807", "%C2%B2", "%D9%A1", "%00", "%F0%9F%99%82",
                           "1%2F2", "%20%201", "0x10", "1e3", "%E2%80%AE", "1;DROP", "." * 3])

    def static_name(self) -> str:
        return self.rng.choice(["index.html", "console.js", "console.css", "socket.io.min.js", "nope.txt",
                                "..%2F..%2Fbot%2Fsettings.py", "%2e%2e/%2e%2e/pyproject.toml", "%00", "x" * 300,
                                "index.html%00.png", "", "a/b/c"])

    def query(self) -> str:
        rng = self.rng
        if rng.random() < 0.4:
            return ""
        keys = ["status", "limit", "external_id", "channel", "token", "after_id", "EIO", "transport", "sid", "t"]
        values = ["bot", "queued,assigned", "x", "", "%00", "%C2%B2", "-1", "99999999999", "1e3", "%F0%9F%99%82",
                  "4", "websocket", "polling", "abc,,", "%ff"]
        return "?" + "&".join(f"{rng.choice(keys)}={rng.choice(values)}" for _ in range(rng.randint(1, 4)))

    def headers(self) -> Dict[str, str]:
        rng = self.rng
        headers: Dict[str, str] = {}
        if rng.random() < 0.15:
            headers["Cookie"] = rng.choice(["baton_session=" + "A" * 300, "baton_session=", 'baton_session="',
                                            "=;;=", "baton_session=%00"])
        if rng.random() < 0.1:
            headers["X-Forwarded-For"] = rng.choice(["1.2.3.4", "garbage", ", ,", "::1, 10.0.0.1", "999.1.1.1"])
        if rng.random() < 0.05:
            headers["Origin"] = rng.choice(["http://evil.example", "null", "file://"])
        return headers


# ---- the server under fuzz -----------------------------------------------------------------------

@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzzed(request, tmp_path_factory, faulty_engine, model_path):
    """A server of its own (fuzzing moves conversations and creates users), with limits out of the way."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzz')}/baton.db"
    else:
        url = create_pg_database()
    live = LiveServer(make_settings(url, model_path, login_attempts_per_minute_per_address=UNLIMITED,
                                    login_failures_per_account=UNLIMITED, new_sessions_per_minute_per_ip=UNLIMITED,
                                    customer_messages_per_minute=UNLIMITED,
                                    rest_messages_per_minute_per_sender=UNLIMITED,
                                    rest_requests_per_minute_per_address=UNLIMITED), faulty_engine).start()
    # Fuzzed bodies may edit its own copy of the training data, but never start a training run:
    # with no config file in that copy, every request to train is refused (422).
    for config in live.settings.data_dir.glob("config*.yml"):
        config.unlink()
    live.backend = request.param
    yield live
    live.stop()
    if request.param == "postgres":
        drop_pg_database(url)


async def known_ids(live: LiveServer) -> Known:
    from agent_console.seed import seed_demo

    await live.acall(seed_demo(live.services.store.catalogue, live.services.accounts))
    async with aiohttp.ClientSession() as http:
        who = "fuzz-" + uuid.uuid4().hex[:6]
        await rest(http, live, who, "I want to talk to a person")
    conversation_id = await live.acall(live.services.conversations.latest_conversation_for("rest", who))
    messages = await live.acall(live.services.conversations.messages(conversation_id))
    canned = await live.acall(live.services.store.catalogue.canned())
    _, _, agent_id = await add_user(live, "agent")
    return Known(conversation_id, messages[0].id, agent_id, canned[0].id)


def seed_for(live: LiveServer, part: str) -> str:
    """Each database and each half gets its own inputs from the one seed (so more inputs in all)."""
    return f"{SEED}-{live.backend}-{part}"


class Failures:
    def __init__(self) -> None:
        self.items: List[str] = []

    def add(self, what: str) -> None:
        self.items.append(what)

    def check(self) -> None:
        shown = "\n".join(self.items[:25])
        assert not self.items, (f"{len(self.items)} failures with BATON_FUZZ_SEED={SEED} "
                                f"(first {min(25, len(self.items))}):\n{shown}")


async def still_serving(live: LiveServer) -> None:
    """After the fuzz: a customer on REST and on web chat, and an agent, are all answered."""
    async with aiohttp.ClientSession() as http:
        assert await rest(http, live, "after-fuzz-" + uuid.uuid4().hex[:6], "hello")
    customer = await WebChatClient(live).connect()
    try:
        await customer.start_session()
        await customer.say("what are your opening hours?")
        assert await customer.replies_until_quiet()
    finally:
        await customer.close()
    username, password, _ = await add_user(live, "agent")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await login(http, live, username, password)
    agent = await AgentClient(live, token).connect()
    try:
        assert (await agent.call("sync", {"after_id": 0}, timeout=20))["ok"]
    finally:
        await agent.close()


# ---- HTTP ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    method: str
    pattern: str      # the resource's canonical path: "/api/conversations/{id}", "/console/static"
    static: bool

    @property
    def takes_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")


def routes_of(live: LiveServer) -> List[Route]:
    found = {Route(r.method, r.resource.canonical, type(r.resource).__name__ == "StaticResource")
             for r in live.app.router.routes() if r.resource is not None}
    return sorted(found, key=lambda r: (r.pattern, r.method))


def concrete_path(route: Route, gen: Generator) -> str:
    if route.static:
        return f"{route.pattern}/{gen.static_name()}"
    path = route.pattern
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        part = gen.path_id() if path[start + 1:end] == "id" else gen.static_name()
        path = path[:start] + part + path[end + 1:]
    return path + (gen.query() if route.method in ("GET", "HEAD") or gen.rng.random() < 0.2 else "")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Dict[str, str]
    body: bytes
    label: str

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.headers} {self.label}"


def plan_request(route: Route, gen: Generator, admin: bool, admin_token: str) -> Request:
    path = concrete_path(route, gen)
    headers = gen.headers()
    body, label = b"", "no body"
    if route.takes_body or gen.rng.random() < 0.1:
        body, content_type, label = gen.http_body()
        if content_type:
            headers["Content-Type"] = content_type
    if admin:
        headers["Authorization"] = f"Bearer {admin_token}"
    return Request(route.method, path, headers, body, label)


async def send_http(http: aiohttp.ClientSession, live: LiveServer, request: Request, failures: Failures) -> None:
    try:
        async with http.request(request.method, URL(live.url + request.path, encoded=True),
                                data=request.body or None, headers=request.headers,
                                allow_redirects=False) as response:
            answer = await response.read()
            status = response.status
            is_json = response.content_type == "application/json"
    except aiohttp.ClientError as exc:
        failures.add(f"connection failed ({type(exc).__name__}: {exc}): {request}")
        return
    if status >= 500:
        failures.add(f"HTTP {status}: {request} -> {answer[:200]!r}")
        return
    if is_json and request.method != "HEAD":
        try:
            parsed = strict_json(answer)
        except ValueError:
            failures.add(f"invalid JSON answer: {request} -> {answer[:200]!r}")
            return
        if status >= 400 and request.path.startswith(("/api/", "/webhooks/")) and not (
                isinstance(parsed, dict) and parsed.get("error") and parsed.get("message")):
            failures.add(f"refusal without error and message: {request} -> {answer[:200]!r}")


async def test_fuzz_every_http_route(fuzzed):
    known = await known_ids(fuzzed)
    gen = Generator(seed_for(fuzzed, "http"), known)
    failures = Failures()
    routes = routes_of(fuzzed)
    assert len(routes) >= 50 and any(r.pattern == "/api/conversations/{id}/claim" for r in routes)
    print(f"\nfuzzing {len(routes)} routes with BATON_FUZZ_SEED={SEED}")
    token = fuzzed.settings.admin_token
    requests: List[Request] = []   # all drawn before anything is sent: the seed alone decides them
    for route in routes:
        as_admin = BODIES_PER_ROUTE if route.takes_body else PATHS_PER_ROUTE
        requests += [plan_request(route, gen, True, token) for _ in range(as_admin)]
        requests += [plan_request(route, gen, False, token) for _ in range(ANONYMOUS_PER_ROUTE)]
    gate = asyncio.Semaphore(6)
    # One connection per request: aiohttp 3.9 stalls a kept-alive connection for its keep-alive
    # timeout (75 s) after a handler left a body over 128 KB unread, which would blame the next input.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), connector=connector) as http:
        async def one(request: Request) -> None:
            async with gate:
                await send_http(http, fuzzed, request, failures)

        await asyncio.gather(*[one(request) for request in requests])
    print(f"sent {len(requests)} requests")
    failures.check()
    await still_serving(fuzzed)


# ---- Socket.IO -------------------------------------------------------------------------------------

def events_of(namespace_class: type) -> List[str]:
    return sorted(name[3:] for name in dir(namespace_class)
                  if name.startswith("on_") and name[3:] not in SYSTEM_EVENTS)


def check_answer(answer: Any, malformed: bool, what: str, failures: Failures) -> None:
    if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
        failures.add(f"answer is not {{ok: …}}: {what} -> {answer!r:.200}")
    elif answer["ok"] is False and not (isinstance(answer.get("error"), str) and answer.get("message")):
        failures.add(f"refusal without error and message: {what} -> {answer!r:.200}")
    elif answer.get("error") == "internal":
        failures.add(f"failed inside the server: {what}")
    elif malformed and answer["ok"] is not False:
        failures.add(f"malformed input accepted: {what} -> {answer!r:.200}")


async def call_event(sio: socketio.AsyncClient, namespace: str, event: str, args: Tuple[Any, ...],
                     malformed: bool, failures: Failures) -> None:
    what = f"{namespace} {event} {json.dumps(args)[:300]}"
    try:
        answer = await sio.call(event, args[0] if len(args) == 1 else args, namespace=namespace, timeout=15)
    except socketio.exceptions.TimeoutError:
        failures.add(f"no answer (lost ack): {what}")
        return
    check_answer(answer, malformed, what, failures)


def event_args(gen: Generator, events: List[str]) -> Tuple[str, Tuple[Any, ...], bool]:
    rng = gen.rng
    roll = rng.random()
    if roll < 0.08:
        return rng.choice(["nope", "x" * 100, "_private", "on_connect", "connect_error", "💥", "__class__"]), \
               ({},), True
    event = rng.choice(events)
    payload, malformed = gen.payload(socketio_rules=True)
    if roll < 0.13:
        return event, (payload, "second"), True     # events take one payload
    return event, (payload,), malformed


def raw_packet(gen: Generator, namespace: str, ack_id: int) -> Tuple[str, str]:
    """A Socket.IO EVENT packet whose JSON part Baton must refuse (not JSON, or not [name, payload])."""
    body = gen.rng.choice([
        '["user_uttered", {"message": ', "{not json", '{"event": "open"}', "[]", "null", '"open"', "[1, 2]",
        '[null, {}]', '["typing", NaN]', '["open", {"conversation_id": 1e999}]', '["open", Infinity]',
        '["sync", {"after_id": ' + "9" * 150 + "}]", "[" * 40 + "]" * 40, '["open", "\\ud800"]',
        '["connect", {"REMOTE_ADDR": "10.9.8.7"}]', '["disconnect", "x"]', "\x00\x01\x02", "[\"a\"" + ",1" * 500])
    prefix = "" if namespace == "/" else f"{namespace},"
    return f"2{prefix}{ack_id}{body}", body


async def send_raw(sio: socketio.AsyncClient, namespace: str, gen: Generator, failures: Failures) -> None:
    answered: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()

    def on_answer(*data: Any) -> None:
        if not answered.done():
            answered.set_result(data[0] if data else None)

    ack_id = sio._generate_ack_id(namespace, on_answer)   # the client's own bookkeeping for acks
    text, body = raw_packet(gen, namespace, ack_id)
    await sio.eio.send(text)
    what = f"{namespace} raw packet {body[:200]!r}"
    try:
        answer = await asyncio.wait_for(answered, 15)
    except asyncio.TimeoutError:
        failures.add(f"no answer (lost ack): {what}")
        return
    check_answer(answer, True, what, failures)


async def test_fuzz_every_socketio_event(fuzzed):
    known = await known_ids(fuzzed)
    gen = Generator(seed_for(fuzzed, "socketio"), known)
    failures = Failures()
    customer_events = events_of(WebChatNamespace)
    agent_events = events_of(AgentNamespace)
    assert {"session_request", "user_uttered", "typing"} <= set(customer_events)
    assert {"claim", "reply", "open", "sync", "label"} <= set(agent_events)
    print(f"\nfuzzing / {customer_events} and /agents {agent_events} with BATON_FUZZ_SEED={SEED}")

    customer = await WebChatClient(fuzzed).connect()
    username, password, _ = await add_user(fuzzed, "admin")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        token = await login(http, fuzzed, username, password)
    agent = await AgentClient(fuzzed, token).connect()
    try:
        await customer.start_session()
        for namespace, sio, events in (("/", customer.sio, customer_events), ("/agents", agent.sio, agent_events)):
            for _ in range(EVENTS_PER_NAMESPACE):
                event, args, malformed = event_args(gen, events)
                await call_event(sio, namespace, event, args, malformed, failures)
            for _ in range(RAW_PACKETS_PER_NAMESPACE):
                await send_raw(sio, namespace, gen, failures)
        assert customer.sio.connected and agent.sio.connected, "the server dropped a fuzzing client"
    finally:
        await customer.close()
        await agent.close()
    failures.check()
    await still_serving(fuzzed)
