"""Profile Baton under the load generator with py-spy, and print the top entries.

    .venv/bin/python benchmarks/profile.py --model models/baton.tar.gz [--senders 16] [--seconds 25]

py-spy is a separate tool (a static binary; it is not one of Baton's dependencies): put it on
PATH or pass --py-spy. It samples every thread of the server process ("all threads") and, in a
second view, only the thread holding the GIL ("GIL"), which is the one that matters when the
GIL is what limits throughput. Frames are grouped by function; "self" counts samples whose
innermost frame is the function, "total" samples with the function anywhere on the stack.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import ROOT, baton_server  # noqa: E402

# Where time goes, by area: the first pattern found in a sample's stack (innermost first) names it.
AREAS = [
    ("TensorFlow", ("tensorflow/",)),
    ("Rasa NLU featurizers/classifiers", ("rasa/nlu/",)),
    ("Rasa policies", ("rasa/core/policies/",)),
    ("Rasa trackers/events", ("rasa/shared/core/",)),
    ("Rasa processor/graph/other", ("rasa/", "dask/")),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("SQLite driver (aiosqlite/sqlite3)", ("aiosqlite/", "sqlite3")),
    ("PostgreSQL driver (asyncpg)", ("asyncpg/",)),
    ("aiohttp / Socket.IO", ("aiohttp/", "socketio/", "engineio/", "multidict/", "yarl/")),
    ("asyncio", ("asyncio/", "uvloop")),
    ("Baton", ("/bot/", "/agent_console/")),
]


def parse_collapsed(path: Path) -> List[Tuple[List[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks.append((stack.split(";"), int(count)))
    return stacks


def frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; group by function and file.
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "python3.10/", "wt-bench/", "/work/main/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"


def summarise(stacks: List[Tuple[List[str], int]], top: int) -> str:
    total = sum(count for _, count in stacks) or 1
    own: Dict[str, int] = collections.Counter()
    inclusive: Dict[str, int] = collections.Counter()
    areas: Dict[str, int] = collections.Counter()
    for frames, count in stacks:
        names = [frame_name(f) for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        if not names:
            continue
        own[names[-1]] += count
        for name in set(names):
            inclusive[name] += count
        # The innermost frame that belongs to a known area decides.
        area = "other"
        for frame in reversed(frames):
            hit = next((label for label, needles in AREAS if any(n in frame for n in needles)), None)
            if hit:
                area = hit
                break
        areas[area] += count
    lines = [f"{total} samples", "", "by area (innermost known frame):"]
    lines += [f"  {100 * c / total:5.1f}%  {name}" for name, c in areas.most_common()]
    lines += ["", "top by self:"]
    lines += [f"  {100 * c / total:5.1f}%  {name}" for name, c in own.most_common(top)]
    lines += ["", "top by total (inclusive):"]
    lines += [f"  {100 * c / total:5.1f}%  {name}" for name, c in inclusive.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "baton.tar.gz"))
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", help="directory for the raw collapsed stacks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="baton-profile-") as tmp:
        out = Path(args.out or tmp)
        out.mkdir(parents=True, exist_ok=True)
        server = baton_server(Path(args.model), args.database_url or f"sqlite+aiosqlite:///{tmp}/profile.db",
                              "baton")
        server.start(Path(tmp))
        try:
            load = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "loadgen.py"), "rest", "--url",
                                     server.url, "--senders", str(args.senders), "--max-messages", "100000",
                                     "--max-seconds", str(args.seconds + 8)], stdout=subprocess.PIPE, text=True)
            time.sleep(4)  # past the warm-up
            views = {"all threads": out / "all.txt", "GIL": out / "gil.txt"}
            spies = [subprocess.Popen([args.py_spy, "record", "-p", str(server.process.pid), "-r", "97", "-d",
                                       str(int(args.seconds)), "-f", "raw", "-o", str(path), "--nonblocking",
                                       *(["--gil"] if view == "GIL" else [])],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for view, path in views.items()]
            for spy in spies:
                spy.wait()
            print(load.communicate()[0])
        finally:
            server.stop()
        for view, path in views.items():
            print(f"\n===== {view} =====")
            print(summarise(parse_collapsed(path), args.top))


if __name__ == "__main__":
    main()
