"""Train NLU models through Rasa, parse test messages with them, keep the parses.

What is measured is exactly what is served: the model comes out of Rasa's own
training graph and every message goes through `Agent.parse_message`. The work
runs in a child process (`python -m bot.evaluation.runs`), because Rasa leaks
memory across model loads and a benchmark loads a dozen models. Parses are
written as JSON, cached by a hash of everything that determines them, so figures
can be recomputed without retraining.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence

from bot.domain import NluParse


@dataclass(frozen=True)
class Job:
    """Train `config` on the NLU file `train`, then parse `texts`."""

    config: Path
    train: Path
    texts: Sequence[str]

    def key(self) -> str:
        config = self.config.read_bytes()
        digest = hashlib.sha256(config + b"\0" + self.train.read_bytes())
        if b"bot.nlu." in config:  # Baton's own component: its code is part of what is measured
            for source in sorted(Path(__file__).resolve().parent.parent.joinpath("nlu").glob("*.py")):
                digest.update(source.read_bytes())
        for text in self.texts:
            digest.update(text.encode() + b"\n")
        return digest.hexdigest()[:20]


@dataclass(frozen=True)
class RunResult:
    parses: List[NluParse]
    train_seconds: float
    parse_ms_median: float
    parse_ms_p95: float
    job_seconds: float  # training, loading and parsing: what the job costs from scratch (wall time)
    cpu_seconds: float = 0.0  # the same in CPU time of the child, all threads (0: not recorded)


def _result(raw: Dict[str, Any]) -> RunResult:
    return RunResult([NluParse.from_rasa(p) for p in raw["parses"]], raw["train_seconds"],
                     raw["parse_ms_median"], raw["parse_ms_p95"],
                     raw.get("job_seconds", raw["train_seconds"] + raw["parse_ms_median"] * len(raw["parses"]) / 1000),
                     raw.get("cpu_seconds", 0.0))


def run_jobs(jobs: Sequence[Job], cache: Path, nice: int = 0) -> List[RunResult]:
    """Results of the jobs, in order; the ones not cached run together in one child process."""
    cache.mkdir(parents=True, exist_ok=True)
    outputs = [cache / f"{job.key()}.json" for job in jobs]
    todo = [(job, out) for job, out in zip(jobs, outputs) if not out.is_file()]
    if todo:
        with tempfile.TemporaryDirectory(prefix="baton-jobs-") as tmp:
            spec = Path(tmp) / "jobs.json"
            spec.write_text(json.dumps([{"config": str(j.config), "train": str(j.train), "texts": list(j.texts),
                                         "out": str(out)} for j, out in todo]))
            command = [sys.executable, "-m", "bot.evaluation.runs", str(spec)]
            if nice:
                command = ["nice", "-n", str(nice)] + command
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
            subprocess.run(command, check=True, env=env)
    return [_result(json.loads(out.read_text())) for out in outputs]


def _run_in_child(jobs: List[Dict[str, Any]]) -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    # A fresh component cache: a benchmark must never reuse a model trained on other data.
    os.environ["RASA_CACHE_DIRECTORY"] = tempfile.mkdtemp(prefix="baton-rasa-cache-")
    from bot.engine import quiet_rasa_logging

    quiet_rasa_logging()
    logging.getLogger("rasa").setLevel(logging.ERROR)
    import rasa.model_training
    from rasa.core.agent import Agent

    for number, job in enumerate(jobs, 1):
        print(f"    [{number}/{len(jobs)}] training {Path(job['config']).name} on {Path(job['train']).name}, "
              f"then parsing {len(job['texts'])} messages", flush=True)
        with tempfile.TemporaryDirectory(prefix="baton-model-") as tmp:
            started, cpu_started = time.monotonic(), time.process_time()
            model = rasa.model_training.train_nlu(job["config"], job["train"], tmp, fixed_model_name="model")
            train_seconds = time.monotonic() - started
            agent = Agent.load(model)
            parses, timings = asyncio.run(_parse_all(agent, job["texts"]))
        timings.sort()
        Path(job["out"] + ".part").write_text(json.dumps({
            "config": job["config"], "train_seconds": round(train_seconds, 2),
            "job_seconds": round(time.monotonic() - started, 2),
            # wall time on a shared machine says little; CPU time (TensorFlow's threads included) says what it costs
            "cpu_seconds": round(time.process_time() - cpu_started, 2),
            "parse_ms_median": round(1000 * statistics.median(timings), 2) if timings else 0.0,
            "parse_ms_p95": round(1000 * timings[int(0.95 * (len(timings) - 1))], 2) if timings else 0.0,
            "parses": parses}))
        os.replace(job["out"] + ".part", job["out"])


async def _parse_all(agent, texts: Sequence[str]):
    parses, timings = [], []
    for text in texts:
        started = time.perf_counter()
        parse = await agent.parse_message(text)
        timings.append(time.perf_counter() - started)
        parses.append({"text": text, "intent": parse.get("intent"),
                       "intent_ranking": (parse.get("intent_ranking") or [])[:10]})
    return parses, timings


def main() -> None:
    parser = argparse.ArgumentParser(description="internal: run NLU training/parsing jobs")
    parser.add_argument("spec", type=Path)
    _run_in_child(json.loads(parser.parse_args().spec.read_text()))


if __name__ == "__main__":
    main()
