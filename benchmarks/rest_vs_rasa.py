"""Baton vs `rasa run`, same model, same machine: REST throughput, latency, and loop stalls.

Starts both servers as subprocesses on loopback, sends the same bounded load of
customer messages (a mix of intents) from N concurrent senders to each, and while
the load runs, probes a cheap endpoint every 20 ms to see how long the server's
event loop is blocked by bot work. Writes benchmarks/results.md and results.json.

    .venv/bin/python benchmarks/rest_vs_rasa.py [--model PATH] [--senders 20] [--messages 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
MESSAGES = ["hi", "where is my order 12345?", "how long does delivery take?", "what is your return policy?",
            "my payment failed", "do you have this in size M?", "what are your opening hours?", "thanks!",
            "how much is shipping to Germany?", "can I change my shipping address?"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_up(url: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError(f"{url} did not come up")


async def probe(url: str, stop: asyncio.Event, samples: List[float]) -> None:
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            started = time.perf_counter()
            async with http.get(url) as r:
                await r.read()
            samples.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.02)


async def load(base: str, probe_url: str, senders: int, per_sender: int, tag: str) -> Dict:
    latencies: List[float] = []
    errors = 0
    silent = 0  # answered with no bot reply: on Baton, the conversation was with a person by then

    async def one_sender(i: int, http: aiohttp.ClientSession) -> None:
        nonlocal errors, silent
        for j in range(per_sender):
            text = MESSAGES[(i + j) % len(MESSAGES)]
            started = time.perf_counter()
            async with http.post(f"{base}/webhooks/rest/webhook",
                                 json={"sender": f"{tag}-{i}", "message": text}) as r:
                body = await r.json()
                if r.status != 200 or not isinstance(body, list):
                    errors += 1
                elif not body:
                    silent += 1
            latencies.append((time.perf_counter() - started) * 1000)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=senders + 4)) as http:
        # warm-up: one message per sender, not measured
        await asyncio.gather(*[one_sender_warm(base, http, f"{tag}-warm-{i}") for i in range(2)])
        stop = asyncio.Event()
        probes: List[float] = []
        prober = asyncio.create_task(probe(probe_url, stop, probes))
        started = time.perf_counter()
        await asyncio.gather(*[one_sender(i, http) for i in range(senders)])
        elapsed = time.perf_counter() - started
        stop.set()
        await prober
    latencies.sort()
    return {"messages": len(latencies), "errors": errors, "no_bot_reply": silent, "seconds": round(elapsed, 2),
            "throughput_msgs_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
            "probe_p50_ms": round(statistics.median(probes), 1) if probes else None,
            "probe_max_ms": round(max(probes), 1) if probes else None}


async def one_sender_warm(base: str, http: aiohttp.ClientSession, sender: str) -> None:
    async with http.post(f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": "hi"}) as r:
        await r.read()


def start(cmd: List[str], env: Dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(ROOT / "models" / "baton.tar.gz"))
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10, help="per sender")
    args = parser.parse_args()
    model = Path(args.model)
    if not model.is_file():
        sys.exit(f"no model at {model}; run `make train` or pass --model")
    results: Dict[str, Dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        rasa_port, baton_port = free_port(), free_port()
        rasa = start([str(VENV_BIN / "rasa"), "run", "--connector", "rest", "-m", str(model),
                      "--port", str(rasa_port), "-i", "127.0.0.1"], {"TF_CPP_MIN_LOG_LEVEL": "3"})
        try:
            await wait_up(f"http://127.0.0.1:{rasa_port}/")
            results["rasa run"] = await load(f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{rasa_port}/",
                                             args.senders, args.messages, "rasa")
        finally:
            rasa.terminate()
            rasa.wait(30)
        baton = start([str(VENV_BIN / "baton"), "serve", "--port", str(baton_port), "--model", str(model),
                       "--database-url", f"sqlite+aiosqlite:///{tmp}/bench.db"],
                      {"TF_CPP_MIN_LOG_LEVEL": "3", "BATON_CUSTOMER_MESSAGES_PER_MINUTE": "100000"})
        try:
            await wait_up(f"http://127.0.0.1:{baton_port}/healthz")
            results["baton"] = await load(f"http://127.0.0.1:{baton_port}",
                                          f"http://127.0.0.1:{baton_port}/healthz",
                                          args.senders, args.messages, "baton")
        finally:
            baton.terminate()
            baton.wait(30)
    b, r = results["baton"], results["rasa run"]
    ratios = {"throughput (baton / rasa)": round(b["throughput_msgs_per_s"] / r["throughput_msgs_per_s"], 2),
              "p50 latency (baton / rasa)": round(b["p50_ms"] / r["p50_ms"], 2),
              "p95 latency (baton / rasa)": round(b["p95_ms"] / r["p95_ms"], 2),
              "worst probe stall (baton / rasa)": round(b["probe_max_ms"] / r["probe_max_ms"], 2)}
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "model": model.name, "senders": args.senders, "messages_per_sender": args.messages,
              "results": results, "ratios": ratios}
    out = ROOT / "benchmarks"
    (out / "results.json").write_text(json.dumps(report, indent=2))
    rows = "\n".join(f"| {name} | {v['throughput_msgs_per_s']} | {v['p50_ms']} | {v['p95_ms']} | "
                     f"{v['probe_p50_ms']} | {v['probe_max_ms']} | {v['errors']} | {v['no_bot_reply']} |" for name, v in results.items())
    (out / "results.md").write_text(f"""# Baton vs `rasa run`: REST channel, same model, same machine

{report['machine']}; model `{model.name}`; {args.senders} concurrent senders × {args.messages} messages.
Baton also stores every message (SQLite), runs the handoff policy and publishes events;
`rasa run` keeps trackers in memory. "No bot reply" counts messages Baton accepted after it had
handed that sender to a person: those are still parsed and stored, but skip dialogue prediction.

| server | msgs/s | p50 ms | p95 ms | probe p50 ms | worst probe ms (loop stall) | errors | no bot reply |
|---|---|---|---|---|---|---|---|
{rows}

Ratios: {', '.join(f'{k}: **{v}**' for k, v in ratios.items())}

The probe is a cheap GET every 20 ms during the load (`/healthz` on Baton, `/` on Rasa): its
worst latency shows how long bot work blocks the server's event loop.

Reproduce: `.venv/bin/python benchmarks/rest_vs_rasa.py --model {model}`
""")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
