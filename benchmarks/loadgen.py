"""The load generator: runs in a process of its own, talks to one server on loopback, prints JSON.

    python benchmarks/loadgen.py rest    --url URL --senders N [--max-messages M] [--max-seconds S]
    python benchmarks/loadgen.py probe   --url URL --seconds S          (the event-loop stall probe)
    python benchmarks/loadgen.py webchat --url URL --customers N [--messages 2]
    python benchmarks/loadgen.py handoff --url URL --tokens FILE [--handoffs H]

Every loop here is bounded in count and in time, and every address is the one given (the
orchestrator, `benchmarks/bench.py`, only ever gives 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import aiohttp

# Mixed store questions a shop's bot answers (none asks for a person): the same list, in the same
# order per sender, goes to both servers. None needs a custom action either: `rasa run` has no
# action server here, so order status and tracking (the order form) would be work only Baton does.
STORE_QUESTIONS = [
    "hi there", "are you a bot?", "how long does delivery take?", "what is your return policy?",
    "my payment failed", "do you have this jacket in size M?", "what are your opening hours?", "thanks!",
    "how much is shipping to Germany?", "can I change my shipping address?", "how do I update my account details",
    "which payment methods do you accept", "I forgot my password", "do you have a size guide",
    "when will I get my refund", "I want to cancel my order 55821", "is there a discount code",
    "how can I contact you", "I'd like to return my shoes", "goodbye",
]
HANDOFF_TEXT = "I want to talk to a person"


def percentile(sorted_values: List[float], q: float) -> Optional[float]:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return round(sorted_values[index], 1)


def latency_summary(latencies_ms: List[float]) -> Dict[str, Optional[float]]:
    values = sorted(latencies_ms)
    return {"p50_ms": percentile(values, 0.50), "p95_ms": percentile(values, 0.95),
            "p99_ms": percentile(values, 0.99), "max_ms": round(values[-1], 1) if values else None}


# ---- REST ---------------------------------------------------------------------------------------

async def rest_load(url: str, senders: int, max_messages: int, max_seconds: float, tag: str) -> Dict[str, Any]:
    """Closed loop: each sender sends its next message when the previous one was answered."""
    latencies: List[float] = []
    errors: Dict[str, int] = {}
    no_reply = 0
    sent = 0
    deadline = 0.0   # set once the warm-up is over
    timeout = aiohttp.ClientTimeout(total=max(30.0, max_seconds))

    async def sender(i: int, http: aiohttp.ClientSession) -> None:
        nonlocal sent, no_reply
        j = 0
        while sent < max_messages and time.monotonic() < deadline:
            sent += 1
            text = STORE_QUESTIONS[(i + j) % len(STORE_QUESTIONS)]
            j += 1
            started = time.perf_counter()
            try:
                async with http.post(f"{url}/webhooks/rest/webhook",
                                     json={"sender": f"{tag}-{i}", "message": text}) as response:
                    body = await response.read()
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors[f"HTTP {status}"] = errors.get(f"HTTP {status}", 0) + 1
            elif json.loads(body) == []:
                no_reply += 1

    connector = aiohttp.TCPConnector(limit=senders + 8)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        # Warm-up, not measured: one message per sender opens its connection and its conversation.
        await asyncio.gather(*[_post(http, url, f"{tag}-{i}", "hello") for i in range(senders)])
        deadline = time.monotonic() + max_seconds
        started = time.perf_counter()
        await asyncio.gather(*[sender(i, http) for i in range(senders)])
        elapsed = time.perf_counter() - started
    return {"senders": senders, "messages": len(latencies), "seconds": round(elapsed, 2),
            "throughput": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
            "errors": sum(errors.values()), "error_kinds": errors, "no_bot_reply": no_reply,
            **latency_summary(latencies)}


async def _post(http: aiohttp.ClientSession, url: str, sender: str, text: str) -> Any:
    async with http.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}) as response:
        return await response.json(content_type=None)


# ---- the stall probe ----------------------------------------------------------------------------

async def probe(url: str, seconds: float, interval: float = 0.02) -> Dict[str, Any]:
    """A cheap GET every 20 ms: its latency is how long the server's event loop kept it waiting."""
    samples: List[float] = []
    failures = 0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        while not stop.is_set() and time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                async with http.get(url) as response:
                    await response.read()
                samples.append((time.perf_counter() - started) * 1000)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                failures += 1
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except asyncio.TimeoutError:
                pass
    values = sorted(samples)
    return {"probes": len(values), "probe_failures": failures, "probe_p50_ms": percentile(values, 0.5),
            "probe_p99_ms": percentile(values, 0.99), "worst_stall_ms": round(values[-1], 1) if values else None}


# ---- web chat (Socket.IO) -------------------------------------------------------------------------

@dataclass
class Customer:
    index: int
    client: Any = None
    replies: "asyncio.Queue[float]" = field(default_factory=asyncio.Queue)


def socket_session() -> aiohttp.ClientSession:
    """One HTTP session for many long-lived sockets: aiohttp's default connector allows 100
    connections, so the 101st customer (or the REST post after 100 consoles) waited forever."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=60))


async def webchat_load(url: str, customers: int, messages: int, think_min: float, think_max: float,
                       max_seconds: float, connect_concurrency: int = 50) -> Dict[str, Any]:
    """`customers` connected at once; each sends `messages` at a chat pace and times the bot's answer."""
    import socketio

    random.seed(7)
    connect_ms: List[float] = []
    round_trips: List[float] = []
    failures: Dict[str, int] = {}
    http = socket_session()
    people = [Customer(i) for i in range(customers)]
    gate = asyncio.Semaphore(connect_concurrency)

    def fail(kind: str) -> None:
        failures[kind] = failures.get(kind, 0) + 1

    async def connect(person: Customer) -> None:
        async with gate:
            client = socketio.AsyncClient(http_session=http, reconnection=False)
            confirmed = asyncio.get_running_loop().create_future()

            @client.on("session_confirm")
            async def on_confirm(data):
                if not confirmed.done():
                    confirmed.set_result(data)

            @client.on("bot_uttered")
            async def on_bot(data):
                person.replies.put_nowait(time.perf_counter())

            started = time.perf_counter()
            try:
                await asyncio.wait_for(client.connect(url, transports=["websocket"], wait_timeout=30), 60)
                await client.emit("session_request", {"session_id": None})
                await asyncio.wait_for(confirmed, 30)
            except Exception as exc:  # counted: a customer who could not connect is a failure
                fail(f"connect: {type(exc).__name__}")
                return
            connect_ms.append((time.perf_counter() - started) * 1000)
            person.client = client

    async def chat(person: Customer, deadline: float) -> None:
        if person.client is None:
            return
        await asyncio.sleep(random.uniform(0, think_max))
        for n in range(messages):
            if time.monotonic() > deadline:
                fail("not sent: time limit")
                return
            while not person.replies.empty():
                person.replies.get_nowait()
            text = STORE_QUESTIONS[(person.index + n) % len(STORE_QUESTIONS)]
            started = time.perf_counter()
            try:
                await asyncio.wait_for(person.client.emit("user_uttered", {"message": text}), 30)
                answered = await asyncio.wait_for(person.replies.get(), max(1.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                fail("no answer in time")
                return
            except Exception as exc:
                fail(f"send: {type(exc).__name__}")
                return
            round_trips.append((answered - started) * 1000)
            await asyncio.sleep(random.uniform(think_min, think_max))

    connect_started = time.perf_counter()
    await asyncio.gather(*[connect(p) for p in people])
    connect_seconds = time.perf_counter() - connect_started
    connected = sum(1 for p in people if p.client is not None)
    started = time.perf_counter()
    deadline = time.monotonic() + max_seconds
    await asyncio.gather(*[chat(p, deadline) for p in people])
    elapsed = time.perf_counter() - started
    still_connected = sum(1 for p in people if p.client is not None and p.client.connected)
    await asyncio.gather(*[_bounded(p.client.disconnect(), 10) for p in people if p.client is not None])
    await _bounded(http.close(), 10)
    return {"customers": customers, "connected": connected, "still_connected_at_end": still_connected,
            "connect_seconds": round(connect_seconds, 1), "connect_p99_ms": percentile(sorted(connect_ms), 0.99),
            "messages": len(round_trips), "seconds": round(elapsed, 1),
            "throughput": round(len(round_trips) / elapsed, 1) if elapsed else 0.0,
            "failures": sum(failures.values()), "failure_kinds": failures, **latency_summary(round_trips)}


async def _bounded(awaitable, seconds: float) -> None:
    """A client's goodbye must not keep the benchmark waiting (a socket the server dropped never answers)."""
    try:
        await asyncio.wait_for(awaitable, seconds)
    except Exception:
        pass


# ---- handoff to the console -----------------------------------------------------------------------

async def handoff_latency(url: str, tokens: List[str], handoffs: int, max_seconds: float) -> Dict[str, Any]:
    """100 consoles connected; a customer asks for a person; when does each console see the handoff?"""
    import socketio

    http = socket_session()
    consoles: List[Any] = []
    seen: List[List[float]] = [[] for _ in tokens]

    async def connect(i: int, token: str) -> None:
        client = socketio.AsyncClient(http_session=http, reconnection=False)

        @client.on("handoff", namespace="/agents")
        async def on_handoff(data):
            seen[i].append(time.perf_counter())

        await client.connect(url, namespaces=["/agents"], transports=["websocket"], auth={"token": token},
                             headers={"Origin": url}, wait_timeout=30)
        consoles.append(client)

    await asyncio.gather(*[connect(i, t) for i, t in enumerate(tokens)])
    from_message: List[float] = []
    from_reply: List[float] = []
    missed = 0
    deadline = time.monotonic() + max_seconds
    for h in range(handoffs):
        if time.monotonic() > deadline:
            break
        before = [len(s) for s in seen]
        started = time.perf_counter()
        await _post(http, url, f"handoff-{h}-{random.randrange(1 << 30)}", HANDOFF_TEXT)
        replied = time.perf_counter()
        wait_until = time.monotonic() + 10
        while time.monotonic() < wait_until and any(len(s) == b for s, b in zip(seen, before)):
            await asyncio.sleep(0.005)
        for s, b in zip(seen, before):
            if len(s) == b:
                missed += 1
                continue
            from_message.append((s[b] - started) * 1000)
            from_reply.append((s[b] - replied) * 1000)
        await asyncio.sleep(0.2)
    await asyncio.gather(*[_bounded(c.disconnect(), 10) for c in consoles])
    await _bounded(http.close(), 10)
    return {"consoles": len(consoles), "handoffs": handoffs, "deliveries": len(from_message), "missed": missed,
            "from_customer_message": latency_summary(from_message),
            "after_rest_answer": latency_summary(from_reply)}


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("rest")
    p.add_argument("--url", required=True)
    p.add_argument("--senders", type=int, required=True)
    p.add_argument("--max-messages", type=int, default=3000)
    p.add_argument("--max-seconds", type=float, default=25.0)
    p.add_argument("--tag", default="bench")
    p = sub.add_parser("probe")
    p.add_argument("--url", required=True)
    p.add_argument("--seconds", type=float, default=120.0)
    p = sub.add_parser("webchat")
    p.add_argument("--url", required=True)
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--messages", type=int, default=2)
    p.add_argument("--think-min", type=float, default=10.0)
    p.add_argument("--think-max", type=float, default=30.0)
    p.add_argument("--max-seconds", type=float, default=120.0)
    p = sub.add_parser("handoff")
    p.add_argument("--url", required=True)
    p.add_argument("--tokens", required=True, help="file with one console login token per line")
    p.add_argument("--handoffs", type=int, default=20)
    p.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()
    if args.command == "rest":
        result = asyncio.run(rest_load(args.url, args.senders, args.max_messages, args.max_seconds, args.tag))
    elif args.command == "probe":
        result = asyncio.run(probe(args.url, args.seconds))
    elif args.command == "webchat":
        result = asyncio.run(webchat_load(args.url, args.customers, args.messages, args.think_min,
                                          args.think_max, args.max_seconds))
    else:
        with open(args.tokens) as f:
            tokens = [line.strip() for line in f if line.strip()]
        result = asyncio.run(handoff_latency(args.url, tokens, args.handoffs, args.max_seconds))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
