"""`baton serve --workers N`: N worker processes on one port, and a parent that keeps them running.

Python runs one thread of Python at a time: under load one Baton process kept about one core
busy and no more (benchmarks/RESULTS.md). Workers use the other cores. The parent does what must
happen once (migrations, the API user, demo accounts), then starts N copies of `baton serve`
that all listen on the same port (SO_REUSEPORT: the kernel spreads connections among them). They
share the database; Redis, so Socket.IO events reach consoles and customers on any worker; and a
directory of lock files: one turn at a time per customer across workers (bot/turn_locks.py) and,
on SQLite, one transaction at a time (bot/store/process_gate.py). A customer needs no affinity to
a worker: before each turn a worker brings its cached tracker up to date from the database
(bot/rasa_trackers.py). Socket.IO is websocket-only here, since a long-polling session's next
request could reach another worker.

The parent passes SIGINT and SIGTERM on to the workers and restarts one that dies, unless it
keeps dying right after starting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Tuple

from bot.announcement import announcement
from bot.settings import Settings

QUICK_DEATH_SECONDS = 15.0     # a worker that dies this soon after starting counts as failing to start
MAX_QUICK_DEATHS = 3


def serve_workers(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.redis_url:
        print("error: --workers needs Redis (BATON_REDIS_URL=redis://…): consoles and customers on different "
              "workers reach each other through it.", file=sys.stderr)
        return 2
    from bot.store.database import migrate_sync

    connections = settings.workers * settings.database_pool_size
    if not settings.is_sqlite and connections > 90:
        print(f"warning: {settings.workers} workers × BATON_DATABASE_POOL_SIZE {settings.database_pool_size} = "
              f"{connections} PostgreSQL connections under full load; PostgreSQL allows 100 by default "
              "(max_connections). Lower BATON_DATABASE_POOL_SIZE or raise max_connections.", file=sys.stderr)
    migrate_sync(settings.database_url)
    demo_logins, has_accounts = asyncio.run(_prepare(settings, args.demo))
    lock_dir = Path(tempfile.mkdtemp(prefix="baton-workers-"))
    # Every worker must sign and check sessions and identities with the same keys.
    env = {**os.environ, "BATON_WORKER_LOCK_DIR": str(lock_dir), "BATON_SECRET_KEY": settings.secret_key}
    if settings.identity_secret:
        env["BATON_IDENTITY_SECRET"] = settings.identity_secret
    command = [sys.executable, "-m", "bot.cli", "serve", *_child_args(args, settings)]
    pool = _Pool(command, env, settings.workers)
    try:
        pool.start()
        if pool.wait_listening(f"http://{_local(settings.host)}:{settings.port}/healthz"):
            print(announcement(settings, f"Baton is running: {settings.workers} worker processes on one port.",
                               f"{settings.model_path.name} (each worker loads it in the background)",
                               demo_logins, has_accounts), flush=True)
        return pool.supervise()
    finally:
        pool.stop()
        shutil.rmtree(lock_dir, ignore_errors=True)


async def _prepare(settings: Settings, demo: bool) -> Tuple[List[Tuple[str, str, str]], bool]:
    from agent_console.accounts import Accounts
    from bot.store import Store

    store = Store.open(settings.database_url)
    accounts = Accounts(store.accounts)
    try:
        await accounts.ensure_api_user()
        await store.models.abandon_unfinished()   # training runs a crash cut short
        logins = []
        if demo:
            from agent_console.seed import seed_demo

            logins = await seed_demo(store.catalogue, accounts)
        return logins, bool(await accounts.list_users())
    finally:
        accounts.close()
        await store.close()


def _child_args(args: argparse.Namespace, settings: Settings) -> List[str]:
    out = ["--host", settings.host, "--port", str(settings.port), "--database-url", settings.database_url,
           "--model", str(settings.model_path)]
    if getattr(args, "data_dir", None) is not None:
        out += ["--data-dir", str(args.data_dir)]
    if args.demo:
        out.append("--demo")
    return out


def _local(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else (f"[{host}]" if ":" in host else host)


class _Pool:
    def __init__(self, command: List[str], env: Dict[str, str], size: int) -> None:
        self.command = command
        self.env = env
        self.size = size
        self.workers: Dict[int, Tuple[subprocess.Popen, float]] = {}
        self.stopping = False
        self.quick_deaths = 0

    def _spawn(self, index: int) -> None:
        process = subprocess.Popen(self.command, env={**self.env, "BATON_WORKER_INDEX": str(index)})
        self.workers[index] = (process, time.monotonic())

    def start(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        for index in range(self.size):
            self._spawn(index)

    def _on_signal(self, signum, _frame) -> None:
        self.stopping = True

    def wait_listening(self, url: str, seconds: float = 120.0) -> bool:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            if any(process.poll() is not None for process, _ in self.workers.values()):
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def supervise(self) -> int:
        while not self.stopping:
            time.sleep(0.5)
            for index, (process, started) in list(self.workers.items()):
                code = process.poll()
                if code is None or self.stopping:
                    continue
                quick = time.monotonic() - started < QUICK_DEATH_SECONDS
                self.quick_deaths = self.quick_deaths + 1 if quick else 0
                if self.quick_deaths >= MAX_QUICK_DEATHS:
                    print(f"error: worker {index} keeps exiting right after it starts (code {code}); "
                          "stopping Baton. Its output above says why.", file=sys.stderr, flush=True)
                    return 1
                print(f"Worker {index} exited (code {code}); starting it again.", file=sys.stderr, flush=True)
                time.sleep(1.0 if quick else 0.0)
                self._spawn(index)
        return 0

    def stop(self, grace_seconds: float = 60.0) -> None:
        self.stopping = True
        for process, _ in self.workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for process, _ in self.workers.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
