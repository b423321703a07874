"""`make bench`: Baton and `rasa run` on the same model, driven by one load generator.

Both servers run as processes of their own on loopback; the load generator and the stall
probe (`benchmarks/loadgen.py`) run in processes of their own too, so neither server shares an
event loop with its load. For each server and load level it records throughput, latency
percentiles, the worst event-loop stall, CPU and peak memory, then writes the `## Speed`
section of `benchmarks/RESULTS.md` (keeping the previous run's numbers beside the new ones)
and appends the raw numbers to `benchmarks/speed-history.json`.

    .venv/bin/python benchmarks/bench.py [--model models/baton.tar.gz] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))   # this checkout's `bot` (its migrations), whatever the venv points at
PY = sys.executable
LOADGEN = ROOT / "benchmarks" / "loadgen.py"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
HISTORY = ROOT / "benchmarks" / "speed-history.json"
PG_ADMIN_URL = os.environ.get("BATON_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BATON_BENCH_REDIS", "redis://127.0.0.1:6379/0")
START = "<!-- speed:start (written by benchmarks/bench.py) -->"
END = "<!-- speed:end -->"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Baton's per-customer and per-address limits protect a shop from a flood; the load generator
# is that flood on purpose, so the limits are lifted for the benchmark only.
BATON_BENCH_ENV = {
    "BATON_REST_MESSAGES_PER_MINUTE_PER_SENDER": "100000000",
    "BATON_REST_REQUESTS_PER_MINUTE_PER_ADDRESS": "100000000",
    "BATON_CUSTOMER_MESSAGES_PER_MINUTE": "100000000",
    "BATON_NEW_SESSIONS_PER_MINUTE_PER_IP": "100000000",
    "BATON_LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS": "100000000",
    # Overloaded on purpose (256 senders), Baton's queue wait can pass its 10 s bot budget and it would
    # hand those customers to people: right for a shop, but then it would be measuring less work
    # than `rasa run`, which has no budget. The budget is raised so both do the same work.
    "BATON_BOT_TIMEOUT_SECONDS": "120",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- processes: CPU and memory from /proc ---------------------------------------------------------

def _tree(pid: int) -> List[int]:
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / CLOCK_TICKS


def memory_mb(pid: int) -> Dict[str, float]:
    """Resident memory now and at its peak (VmHWM), summed over the server's processes."""
    rss = peak = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        peak += int(line.split()[1])
        except OSError:
            pass
    return {"rss_mb": round(rss / 1024), "peak_mb": round(peak / 1024)}


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except Exception:
        return False


@dataclass
class Server:
    name: str
    command: List[str]
    ready_url: str
    probe_url: str
    url: str
    env: Dict[str, str] = field(default_factory=dict)
    process: Optional[subprocess.Popen] = None
    cold_start_s: Optional[float] = None
    log: Optional[Path] = None

    def start(self, logs: Path, timeout: float = 900) -> None:
        self.log = logs / f"{self.name.replace(' ', '-')}.log"
        started = time.monotonic()
        self.process = subprocess.Popen(self.command, cwd=ROOT, env={**os.environ, **self.env},
                                        stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}:\n{self.log.read_text()[-3000:]}")
            if http_ok(self.ready_url):
                self.cold_start_s = round(time.monotonic() - started, 1)
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} was not ready within {timeout:.0f}s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def loadgen(*args: str, timeout: float = 600) -> Dict[str, Any]:
    out = subprocess.run([PY, str(LOADGEN), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        causes = [line for line in out.stderr.splitlines()
                  if line[:1].isalpha() and ("Error" in line or "Exception" in line) and "loop is closed" not in line]
        raise RuntimeError(f"load generator failed: {' | '.join(causes[:3]) or out.stderr[-1000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measured(server: Server, run) -> Dict[str, Any]:
    """Run one load against `server` with the stall probe beside it; add CPU and memory."""
    pid = server.process.pid
    probe = subprocess.Popen([PY, str(LOADGEN), "probe", "--url", server.probe_url, "--seconds", "900"],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    cpu_before, clock = cpu_seconds(pid), time.monotonic()
    try:
        result = run()
    finally:
        cpu_used, wall = cpu_seconds(pid) - cpu_before, time.monotonic() - clock
        probe.send_signal(signal.SIGTERM)
        stall = json.loads(probe.communicate(timeout=60)[0].strip().splitlines()[-1])
    return {**result, **stall, "cpu_cores": round(cpu_used / wall, 2), **memory_mb(pid)}


# ---- the servers ----------------------------------------------------------------------------------

def rasa_server(model: Path) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rasa = str(Path(PY).parent / "rasa")
    return Server("rasa run", [rasa, "run", "--enable-api", "-m", str(model), "--port", str(port),
                               "-i", "127.0.0.1"],
                  ready_url=f"{url}/status", probe_url=f"{url}/", url=url,
                  env={"TF_CPP_MIN_LOG_LEVEL": "3"})


def baton_server(model: Path, database_url: str, name: str, extra: Optional[Dict[str, str]] = None) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return Server(name, [PY, "-m", "bot.cli", "serve", "--port", str(port), "--model", str(model),
                         "--database-url", database_url],
                  ready_url=f"{url}/readyz", probe_url=f"{url}/healthz", url=url,
                  env={"TF_CPP_MIN_LOG_LEVEL": "3", **BATON_BENCH_ENV, **(extra or {})})


def workers_env(workers: int) -> Dict[str, str]:
    return {"BATON_WORKERS": str(workers), "BATON_REDIS_URL": REDIS_URL,
            "BATON_REDIS_CHANNEL": f"baton-bench-{uuid.uuid4().hex[:8]}"}


def create_pg_database() -> str:
    import asyncpg

    name = f"baton_bench_{uuid.uuid4().hex[:8]}"

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

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def seed_console_logins(database_url: str, agents: int) -> List[str]:
    """`agents` console accounts, each with a login session, written straight into the benchmark database."""
    import secrets
    from datetime import timedelta

    from agent_console.accounts import session_digest
    from bot.domain import Role
    from bot.store import Store
    from bot.store.database import migrate_sync

    migrate_sync(database_url)
    tokens = [secrets.token_urlsafe(32) for _ in range(agents)]

    async def seed() -> None:
        store = Store.open(database_url)
        try:
            expires = datetime.now(timezone.utc) + timedelta(days=1)
            for i, token in enumerate(tokens):
                user = await store.accounts.create(f"bench-agent-{i}", f"Agent {i}", Role.AGENT, "!", 5)
                await store.accounts.start_session(user.id, session_digest(token), expires)
        finally:
            await store.close()

    asyncio.run(seed())
    return tokens


# ---- the run --------------------------------------------------------------------------------------

def rest_level(server: Server, senders: int, max_messages: int, max_seconds: float) -> Dict[str, Any]:
    tag = f"{server.name.split()[0]}-{senders}-{uuid.uuid4().hex[:6]}"
    result = measured(server, lambda: loadgen(
        "rest", "--url", server.url, "--senders", str(senders), "--max-messages", str(max_messages),
        "--max-seconds", str(max_seconds), "--tag", tag))
    print(f"  {server.name} @ {senders} senders: {result['throughput']} msg/s, p99 {result['p99_ms']} ms, "
          f"stall {result['worst_stall_ms']} ms, load average {os.getloadavg()[0]:.1f}", flush=True)
    return result


def survived(step) -> Dict[str, Any]:
    """A later phase that fails is reported as failed; it must not throw away the REST numbers."""
    try:
        return step()
    except Exception as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        return {"error": f"{type(exc).__name__}: {' / '.join(lines)[:300]}"}


def run(args: argparse.Namespace) -> Dict[str, Any]:
    """Every server is started (one at a time, for a clean cold start) and kept up; then each load
    level runs against each server in turn, so a change in the machine's background load hits
    all of them alike rather than whichever happened to run last."""
    model = Path(args.model).resolve()
    levels = [int(x) for x in args.levels.split(",")]
    wanted = [x.strip() for x in args.only.split(",")]
    report: Dict[str, Any] = {
        "when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "model": str(model.relative_to(ROOT)) if model.is_relative_to(ROOT) else str(model),
        "model_mb": round(model.stat().st_size / 1e6, 1),
        "bounds": {"max_messages_per_level": args.max_messages, "max_seconds_per_level": args.max_seconds},
        "servers": {},
    }
    servers: List[Server] = []
    pg_url: Optional[str] = None
    tokens: List[str] = []
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        logs = Path(tmp)
        try:
            if "rasa" in wanted:
                servers.append(rasa_server(model))
            if "sqlite" in wanted:
                db = f"sqlite+aiosqlite:///{tmp}/bench.db"
                tokens = seed_console_logins(db, args.agents)
                servers.append(baton_server(model, db, "baton (SQLite)"))
            if "postgres" in wanted or "postgres2" in wanted:
                pg_url = create_pg_database()
            if "postgres" in wanted:
                servers.append(baton_server(model, pg_url, "baton (PostgreSQL)"))
            # `baton serve --workers 2`: a second process for the second core (Redis carries Socket.IO).
            if "sqlite2" in wanted:
                servers.append(baton_server(model, f"sqlite+aiosqlite:///{tmp}/bench-workers.db",
                                            "baton ×2 workers (SQLite)", workers_env(2)))
            if "postgres2" in wanted:
                servers.append(baton_server(model, pg_url, "baton ×2 workers (PostgreSQL)", workers_env(2)))
            for server in servers:
                print(f"{server.name}: starting…", flush=True)
                server.start(logs)
                report["servers"][server.name] = {"cold_start_s": server.cold_start_s, "rest": {}}
                print(f"  ready in {server.cold_start_s} s", flush=True)
            for senders in levels:
                for server in servers:
                    report["servers"][server.name]["rest"][str(senders)] = rest_level(
                        server, senders, args.max_messages, args.max_seconds)
            sqlite = next((s for s in servers if s.name == "baton (SQLite)"), None)
            if sqlite is not None and args.customers:
                entry = report["servers"][sqlite.name]
                entry["webchat"] = survived(lambda: measured(sqlite, lambda: loadgen(
                    "webchat", "--url", sqlite.url, "--customers", str(args.customers),
                    "--think-min", str(args.think_min), "--think-max", str(args.think_max),
                    "--max-seconds", str(args.webchat_seconds), timeout=args.webchat_seconds + 300)))
                entry["webchat"]["pace"] = [args.think_min, args.think_max]
                print(f"  web chat: {entry['webchat']}", flush=True)
            if sqlite is not None and args.agents:
                token_file = logs / "tokens.txt"
                token_file.write_text("\n".join(tokens))
                entry = report["servers"][sqlite.name]
                entry["handoff"] = survived(lambda: loadgen(
                    "handoff", "--url", sqlite.url, "--tokens", str(token_file), "--handoffs", str(args.handoffs),
                    timeout=300))
                print(f"  handoff: {entry['handoff']}", flush=True)
            for server in servers:
                report["servers"][server.name].update(memory_mb(server.process.pid))
        finally:
            for server in servers:
                server.stop()
            if pg_url:
                drop_pg_database(pg_url)
        if args.store_turns:
            # After the servers are gone: nothing else competes for the cores.
            report["store_turn"] = survived(lambda: store_turn(args.store_turns, "postgres" in wanted))
            print(f"  store turn: {report['store_turn']}", flush=True)
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def store_turn(turns: int, postgres: bool) -> Dict[str, Any]:
    """benchmarks/store_turn.py in a process of its own (PostgreSQL in a database of its own)."""
    pg = create_pg_database() if postgres else None
    try:
        command = [PY, str(ROOT / "benchmarks" / "store_turn.py"), "--turns", str(turns)]
        done = subprocess.run(command + (["--postgres", pg] if pg else []), capture_output=True, text=True,
                              timeout=600, cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        return json.loads(done.stdout)
    finally:
        if pg:
            drop_pg_database(pg)


# ---- the report -----------------------------------------------------------------------------------

def _ratio(a: Optional[float], b: Optional[float]) -> str:
    return f"{a / b:.2f}×" if a and b else "–"


def _cpu_per_message(r: Dict[str, Any]) -> str:
    # Cores in use ÷ messages per second: the CPU one answer cost, which varies less than throughput
    # when other work shares the machine.
    return f"{1000 * r['cpu_cores'] / r['throughput']:.1f}" if r.get("cpu_cores") and r.get("throughput") else "–"


def render(report: Dict[str, Any], previous: Optional[Dict[str, Any]]) -> str:
    servers = report["servers"]
    rasa = servers.get("rasa run", {}).get("rest", {})
    lines = [START, "## Speed", "",
             f"Written by `make bench` on {report['when']}: {report['machine']}; model `{report['model']}` "
             f"({report['model_mb']} MB). Load average when the run started "
             f"{'/'.join(str(x) for x in report['load_average_at_start'])}, at its end "
             f"{'/'.join(str(x) for x in report.get('load_average_at_end', []))} (1/5/15 min; the two cores are "
             "shared with other work, so absolute numbers move between runs; both servers ran in the same run).",
             "",
             "All servers were up at once and took turns at each level. "
             "REST webhook, closed loop: each sender posts its next store question when the previous one was "
             f"answered; each level is bounded at {report['bounds']['max_messages_per_level']} messages or "
             f"{report['bounds']['max_seconds_per_level']:g} s. *Stall* is the worst wait of a cheap GET sent every "
             "20 ms during the load (Baton `/healthz`, Rasa `/`). CPU is the server's cores in use; memory is "
             "its peak resident set.", "",
             "| server | senders | msg/s | × rasa | p50 ms | p95 ms | p99 ms | stall ms | CPU cores | CPU ms/msg "
             "| errors | no bot reply |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, entry in servers.items():
        for level, r in entry.get("rest", {}).items():
            base = rasa.get(level, {}).get("throughput")
            lines.append(f"| {name} | {level} | {r['throughput']} | {_ratio(r['throughput'], base)} | "
                         f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['worst_stall_ms']} | "
                         f"{r['cpu_cores']} | {_cpu_per_message(r)} | {r['errors']} | {r['no_bot_reply']} |")
    lines += ["", "| server | cold start s (start → ready) | peak memory MB | memory after the run MB |",
              "|---|---|---|---|"]
    for name, entry in servers.items():
        lines.append(f"| {name} | {entry.get('cold_start_s')} | {entry.get('peak_mb')} | {entry.get('rss_mb')} |")
    if any("workers" in name for name in servers):
        lines += ["", "A *×2 workers* row is `baton serve --workers 2` (Redis carries Socket.IO between the "
                      "workers): its CPU and memory are the parent's and both workers' together; cold start is "
                      "until the first worker answers `/readyz`."]
    sqlite = servers.get("baton (SQLite)", {})
    web = sqlite.get("webchat")
    if web and "error" in web:
        lines += ["", f"**Web chat:** the run failed: `{web['error'][:300]}`"]
    elif web:
        lines += ["", f"**Web chat (Socket.IO), one Baton worker on SQLite:** {web['connected']} of "
                      f"{web['customers']} customers connected (in {web['connect_seconds']} s; "
                      f"{web['still_connected_at_end']} still connected at the end); each sent two store questions "
                      f"at a chat pace ({web['pace'][0]:g}–{web['pace'][1]:g} s apart, the first within "
                      f"{web['pace'][1]:g} s): {web['messages']} answered, {web['throughput']} msg/s, round "
                      f"trip p50 {web['p50_ms']} ms, p95 {web['p95_ms']} ms, p99 **{web['p99_ms']} ms**, max "
                      f"{web['max_ms']} ms; {web['failures']} failures {web['failure_kinds'] or ''}; worst stall "
                      f"{web['worst_stall_ms']} ms; CPU {web['cpu_cores']} cores; memory {web['rss_mb']} MB."]
    hand = sqlite.get("handoff")
    if hand and "error" in hand:
        lines += ["", f"**Handoff to the console:** the run failed: `{' '.join(hand['error'].split())[-300:]}`"]
    elif hand:
        fm, ar = hand["from_customer_message"], hand["after_rest_answer"]
        lines += ["", f"**Handoff to the console:** {hand['consoles']} consoles connected to `/agents`; "
                      f"{hand['handoffs']} customers asked for a person, one after another; each console's "
                      f"`handoff` event arrived p50 {fm['p50_ms']} ms / p99 {fm['p99_ms']} ms / max {fm['max_ms']} ms "
                      f"after the customer's message was sent (p50 {ar['p50_ms']} ms / p99 {ar['p99_ms']} ms after "
                      f"the REST answer); {hand['missed']} deliveries missed."]
    turn = report.get("store_turn")
    if turn and "error" in turn:
        lines += ["", f"**The database part of a turn:** the run failed: `{' '.join(turn['error'].split())[-300:]}`"]
    elif turn:
        lines += ["", "**The database part of a turn, alone** (`benchmarks/store_turn.py`: a turn's three "
                      "transactions, 16 customers at a time, no Rasa or HTTP; CPU of the whole process):", "",
                  "| database | turns | CPU ms per turn | wall ms per turn |", "|---|---|---|---|"]
        for name, r in turn.items():
            lines.append(f"| {name} | {r['turns']} | {r['cpu_ms_per_turn']} | {r['wall_ms_per_turn']} |")
    if previous:
        lines += ["", f"Previous run ({previous['when']}, load average "
                      f"{'/'.join(str(x) for x in previous['load_average_at_start'])}):", "",
                  "| server | senders | msg/s | p99 ms | stall ms |", "|---|---|---|---|---|"]
        for name, entry in previous["servers"].items():
            for level, r in entry.get("rest", {}).items():
                lines.append(f"| {name} | {level} | {r['throughput']} | {r['p99_ms']} | {r['worst_stall_ms']} |")
    lines += ["", "Reproduce: `make bench` (all of it, 25–40 minutes on this shared machine), or "
                  "`.venv/bin/python benchmarks/bench.py --help` for one server or level.", END]
    return "\n".join(lines) + "\n"


def write_results(report: Dict[str, Any]) -> None:
    history: List[Dict[str, Any]] = json.loads(HISTORY.read_text()) if HISTORY.is_file() else []
    previous = history[-1] if history else None
    history.append(report)
    HISTORY.write_text(json.dumps(history, indent=1) + "\n")
    section = render(report, previous)
    text = RESULTS.read_text() if RESULTS.is_file() else "# Benchmark results\n\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "baton.tar.gz"))
    parser.add_argument("--levels", default="16,64,256", help="concurrent REST senders, comma-separated")
    parser.add_argument("--max-messages", type=int, default=2500, help="per level")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="per level")
    parser.add_argument("--customers", type=int, default=1000, help="web chat customers (0: skip)")
    parser.add_argument("--webchat-seconds", type=float, default=150.0)
    parser.add_argument("--think-min", type=float, default=20.0, help="seconds between a customer's messages")
    parser.add_argument("--think-max", type=float, default=60.0)
    parser.add_argument("--agents", type=int, default=100, help="connected consoles for the handoff test (0: skip)")
    parser.add_argument("--handoffs", type=int, default=20)
    parser.add_argument("--only", default="rasa,sqlite,postgres,sqlite2,postgres2",
                        help="which servers: rasa,sqlite,postgres (one process each), "
                             "sqlite2,postgres2 (`baton serve --workers 2`)")
    parser.add_argument("--store-turns", type=int, default=400,
                        help="turns for the database-only measurement, benchmarks/store_turn.py (0: skip)")
    parser.add_argument("--no-write", action="store_true", help="print the numbers; leave RESULTS.md alone")
    args = parser.parse_args()
    if not Path(args.model).is_file():
        sys.exit(f"no model at {args.model}; `make bench` trains one, or pass --model")
    report = run(args)
    print(json.dumps(report, indent=1))
    if not args.no_write:
        write_results(report)
        print(f"wrote {RESULTS.relative_to(ROOT)} and {HISTORY.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
