"""`baton evaluate` and `make bench-nlu`: the three figures, and the thresholds they imply.

1. Baton's thresholds are learned by 5-fold cross-validation on data/nlu.yml alone
   (never on a test set), for the wrong-answer rate the operator sets (default 2%),
   and written where the server reads them (settings.handoff_thresholds_path).
2. Baton, trained on all of data/nlu.yml, is scored on the store test set
   (benchmarks/nlu/store_test.yml) through the live handoff policy.
3. With --baseline, the plain Rasa pipeline (benchmarks/nlu/baseline_config.yml,
   FallbackClassifier 0.3) is trained and scored the same way, in the same run.
4. With --banking77, both are measured on Banking77's open-set protocol (75% of
   intents known, the rest out of scope), averaged over seeds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from bot.evaluation import report
from bot.evaluation.datasets import banking77_open_set, load_nlu, nlu_folds, open_set_folds, write_nlu
from bot.evaluation.metrics import Figures, IntentRow
from bot.evaluation.protocol import DataSet, Measurement, System, mean_figures, measure
from bot.handoff import LearnedThresholds
from bot.settings import PROJECT_ROOT

BASELINE_CONFIG = PROJECT_ROOT / "benchmarks" / "nlu" / "baseline_config.yml"
STORE_TEST = PROJECT_ROOT / "benchmarks" / "nlu" / "store_test.yml"
BANKING77 = Path(os.environ.get("BATON_BANKING77", "/work/shared/datasets/banking77"))
CACHE = PROJECT_ROOT / ".cache" / "nlu-eval"
RESULTS_START, RESULTS_END = "<!-- nlu:start -->", "<!-- nlu:end -->"


def store_dataset(data_dir: Path, test_path: Path, seed: int, folds: int = 5) -> DataSet:
    train = Path(data_dir) / "nlu.yml"
    return DataSet("store", train, load_nlu(test_path), lambda d: nlu_folds(train, folds, seed, d))


def banking77_dataset(directory: Path, seed: int, workdir: Path, folds: int = 5) -> DataSet:
    split = banking77_open_set(directory, seed)
    train = workdir / f"banking77-seed{seed}.yml"
    write_nlu(split.train, train)
    return DataSet(f"banking77 seed {seed}", train, split.test,
                   lambda d: open_set_folds(split.train, folds, seed, 0.25, d), routed_intents=(),
                   human_request_intents=())


def _fig(f: Figures) -> Dict:
    return f.as_dict()


def _measurement_json(m: Measurement) -> Dict:
    return {"system": m.system, "dataset": m.dataset, "overall": _fig(m.overall),
            "thresholds": {"default": m.policy.confidence_threshold, "margin": m.policy.ambiguity_margin,
                           "intents": dict(m.policy.intent_thresholds)},
            "per_intent_kept": m.choice.per_intent_kept if m.choice else None,
            "crossval": ({"global": _fig(m.choice.crossval_global), "per_intent": _fig(m.choice.crossval_per_intent)}
                         if m.choice else None),
            "intents": [asdict(r) for r in m.intents],
            "curve": [{"threshold": t, **_fig(f)} for t, f in m.curve],
            "train_seconds": m.train_seconds, "parse_ms_median": m.parse_ms_median, "parse_ms_p95": m.parse_ms_p95}


def time_production_training(data_dir: Path, config_name: str) -> float:
    """Seconds for `baton train` of the full model (NLU and dialogue) from scratch, no cache."""
    with tempfile.TemporaryDirectory(prefix="baton-train-timing-") as tmp:
        env = {**os.environ, "RASA_CACHE_DIRECTORY": str(Path(tmp) / "rasa-cache"), "TF_CPP_MIN_LOG_LEVEL": "3"}
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "bot.cli", "train", "--config", config_name,
                        "--out", str(Path(tmp) / "model.tar.gz")], check=True, env=env,
                       stdout=subprocess.DEVNULL, cwd=PROJECT_ROOT)
        return time.monotonic() - started


def evaluate(data_dir: Path, out_dir: Path, config_name: str = "config.yml", seed: int = 7,
             target: float = 0.02, thresholds_path: Optional[Path] = None, baseline: bool = False,
             banking77: bool = False, seeds: Sequence[int] = (1, 2, 3), results_md: Optional[Path] = None,
             time_training: bool = False, test_path: Path = STORE_TEST, nice: int = 0,
             baseline_seeds: Optional[Sequence[int]] = None) -> Dict:
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    baton = System("Baton", data_dir / config_name, learns_thresholds=True)
    plain = System("Rasa baseline", BASELINE_CONFIG, learns_thresholds=False)
    store = store_dataset(data_dir, test_path, seed)
    print(f"Store set: {len(store.test)} test messages; learning thresholds on {store.train} "
          f"(5-fold cross-validation, target ≤ {target:.1%} wrong answers)…", flush=True)
    store_runs = [measure(baton, store, CACHE, target, nice)]
    if baseline:
        print("Store set: the plain Rasa baseline…", flush=True)
        store_runs.append(measure(plain, store, CACHE, target, nice))
    learned = store_runs[0].policy
    if thresholds_path is not None:
        LearnedThresholds(learned.confidence_threshold, learned.ambiguity_margin, dict(learned.intent_thresholds),
                          target, {"config": config_name, "chosen_by": "baton evaluate", "folds": 5,
                                   "seed": seed, "per_intent_kept": store_runs[0].choice.per_intent_kept}
                          ).write(thresholds_path)
        print(f"Thresholds written to {thresholds_path}", flush=True)

    banking_runs: Dict[str, List[Measurement]] = {}
    if banking77:
        with tempfile.TemporaryDirectory(prefix="baton-banking77-") as tmp:
            for s in seeds:
                data = banking77_dataset(BANKING77, s, Path(tmp))
                print(f"Banking77 open set, seed {s}: {len(data.test)} test messages…", flush=True)
                banking_runs.setdefault("Baton", []).append(measure(baton, data, CACHE, target, nice))
                # The stock DIET pipeline costs ~half an hour per seed here: it may run on fewer seeds.
                if baseline and (baseline_seeds is None or s in baseline_seeds):
                    banking_runs.setdefault("Rasa baseline", []).append(measure(plain, data, CACHE, target, nice))

    training_seconds = time_production_training(data_dir, config_name) if time_training else None
    compute = sum(m.compute_seconds for m in store_runs) + sum(
        m.compute_seconds for runs in banking_runs.values() for m in runs) + (training_seconds or 0)
    result = {"compute_seconds": round(compute), "config": config_name, "target_wrong_answer_rate": target, "seed": seed,
              "store": [_measurement_json(m) for m in store_runs],
              "banking77": {name: {"seeds": [_measurement_json(m) for m in runs],
                                   "mean": mean_figures([m.overall for m in runs])}
                            for name, runs in banking_runs.items()},
              "production_training_seconds": round(training_seconds, 1) if training_seconds else None,
              "banking77_seeds": list(seeds) if banking77 else [],
              "banking77_baseline_seeds": ([s for s in seeds if baseline_seeds is None or s in baseline_seeds]
                                           if banking77 and baseline else []),
              "duration_seconds": round(time.monotonic() - started)}
    (out_dir / "results.json").write_text(json.dumps(result, indent=2))
    (out_dir / "store-curve.svg").write_text(report.svg(store_runs, "Store test set: wrong answers vs automation"))
    (out_dir / "report.md").write_text(_store_report(store_runs, config_name, target, len(store.test)))
    if banking_runs:
        (out_dir / "banking77.md").write_text(_banking_report(banking_runs))
    if results_md is not None:
        _write_results_section(results_md, _results_section(store_runs, banking_runs, result))
    b = store_runs[0].overall
    print(f"Store set, Baton through the live policy: automation {report.pct(b.automation)}, wrong answers "
          f"{report.pct(b.wrong_answer)}, out-of-scope recall {report.pct(b.oos_recall)}; report in {out_dir} "
          f"({result['duration_seconds']} s)")
    return result


def _store_report(runs: Sequence[Measurement], config_name: str, target: float, n: int) -> str:
    baton = runs[0]
    baseline = runs[1] if len(runs) > 1 else None
    return f"""# NLU evaluation: the store test set ({config_name})

{n} messages from `benchmarks/nlu/store_test.yml` ({baton.overall.in_scope} in scope,
{baton.overall.out_of_scope} out of scope), never used for training. Every parse goes
through the live handoff policy (`bot/handoff.py`) as a customer's first message.
Definitions: [metrics.py](../../bot/evaluation/metrics.py).

- automation: share of in-scope messages answered (or, for request_human/complaint, routed) with the right intent
- wrong answers: share of all messages answered with a wrong intent, out-of-scope ones included
- out-of-scope recall: share of out-of-scope messages handed off, asked to rephrase, or given the out-of-scope reply

{report.overall_table([(m.system, m.overall) for m in runs])}

Baton's thresholds (target ≤ {target:.0%} wrong answers, learned on data/nlu.yml by 5-fold
cross-validation): {report.thresholds_line(baton)}.

Parse latency (Rasa `parse_message`, median / p95): Baton {baton.parse_ms_median:.1f} / {baton.parse_ms_p95:.1f} ms{
f"; baseline {baseline.parse_ms_median:.1f} / {baseline.parse_ms_p95:.1f} ms" if baseline else ""}.
NLU training time: Baton {baton.train_seconds:.0f} s{f"; baseline {baseline.train_seconds:.0f} s" if baseline else ""}.

![curve](store-curve.svg)

## Per intent

{report.intent_table(baton.intents, baseline.intents if baseline else None)}

## Across thresholds (one global threshold on the top intent's confidence)

{report.curve_table(runs)}

Reproduce: `baton evaluate{' --baseline' if baseline else ''}` (or `make bench-nlu` for this plus Banking77).
"""


def _summed_rows(runs: Sequence[Measurement]) -> List[IntentRow]:
    """Per-intent counts added up over seeds (each seed knows a different set of intents)."""
    totals: Dict[str, List[int]] = {}
    for m in runs:
        for r in m.intents:
            t = totals.setdefault(r.intent, [0, 0, 0, 0])
            for k, v in enumerate((r.messages, r.right, r.wrong, r.answered_wrongly_as)):
                t[k] += v
    return [IntentRow(name, *values) for name, values in sorted(totals.items())]


def _mean_curve(runs: Sequence[Measurement]) -> Measurement:
    """A stand-in measurement whose curve is the seeds' curves added up point by point."""
    first = runs[0]
    curve = []
    for i, (t, _) in enumerate(first.curve):
        parts = [m.curve[i][1] for m in runs]
        curve.append((t, Figures(*(sum(getattr(p, f) for p in parts)
                                   for f in ("in_scope", "out_of_scope", "right", "wrong", "oos_caught")))))
    return Measurement(first.system, "banking77", first.policy, first.overall, [], curve, 0.0, 0.0, 0.0)


def _banking_report(banking: Dict[str, List[Measurement]]) -> str:
    names = list(banking)
    seeds = ", ".join(m.dataset.split()[-1] for m in banking[names[0]])
    lines = [f"# NLU evaluation: Banking77 open set (seeds {seeds})", "",
             "75% of the 77 intents known (a seeded random choice), test messages of the others labelled "
             "out of scope; Baton learns its thresholds by open-set cross-validation on the training part "
             "(in each fold a quarter of the known intents is held out too). Figures through the same "
             "handoff policy as the store set, with no intent routed to a person.", "",
             "| system | automation | wrong answers | out-of-scope recall |", "|---|---|---|---|"]
    for name in names:
        mean = mean_figures([m.overall for m in banking[name]])
        lines.append(f"| {name} (mean) | {report.pct(mean['automation'])} | {report.pct(mean['wrong_answer'])} | "
                     f"{report.pct(mean['oos_recall'])} |")
    lines += ["", "## Across thresholds (all seeds' messages together)", "",
              report.curve_table([_mean_curve(banking[name]) for name in names]), "",
              "## Per intent (counts added up over the seeds)", "",
              report.intent_table(_summed_rows(banking[names[0]]),
                                  _summed_rows(banking[names[1]]) if len(names) > 1 else None), ""]
    return "\n".join(lines)


def _results_section(store_runs: Sequence[Measurement], banking: Dict[str, List[Measurement]], result: Dict) -> str:
    baton = store_runs[0]
    skipped = [s for s in result.get("banking77_seeds", []) if s not in result.get("banking77_baseline_seeds", [])]
    partial = len(store_runs) > 1 and skipped
    lines = [RESULTS_START, "## NLU quality (`make bench-nlu`)", "",
             f"Generated by `make bench-nlu`{' (here with the baseline on fewer Banking77 seeds)' if partial else ''}. "
             f"{'This run' if partial else 'From a clean clone it'} trains and parses for about "
             f"{round(result['compute_seconds'] / 60)} min on this 2-core machine (the sum of every job's time, "
             f"measured while other work shared the cores; an idle machine is faster), plus the usual "
             f"`make` setup{_skipped_text(skipped) if partial else ''}; "
             "results are cached in .cache/nlu-eval, so a re-run takes minutes. "
             "Three figures, always together: automation (in-scope messages answered with the right intent), "
             "wrong answers (all messages answered with a wrong intent), out-of-scope recall. "
             "Details: [docs/evaluation/report.md](../docs/evaluation/report.md).", "",
             f"### Store test set ({baton.overall.in_scope} in scope, {baton.overall.out_of_scope} out of scope), "
             "through the live handoff policy", "",
             report.overall_table([(m.system, m.overall) for m in store_runs]), "",
             f"Baton's thresholds: {report.thresholds_line(baton)}.", ""]
    if len(store_runs) > 1:
        same = report.at_baseline_automation(baton, store_runs[1])
        if same:
            lines += [f"At the baseline's automation ({report.pct(store_runs[1].overall.automation)}), "
                      f"Baton's curve gives {report.pct(same.wrong_answer)} wrong answers "
                      f"(baseline {report.pct(store_runs[1].overall.wrong_answer)}).", ""]
    if banking:
        lines += ["### Banking77 open set (75% of intents known, the rest out of scope; mean over seeds)", "",
                  "| system | seeds | automation | wrong answers | out-of-scope recall |", "|---|---|---|---|---|"]
        for name, runs in banking.items():
            mean = mean_figures([m.overall for m in runs])
            lines.append(f"| {name} | {', '.join(m.dataset.split()[-1] for m in runs)} | "
                         f"{report.pct(mean['automation'])} | {report.pct(mean['wrong_answer'])} | "
                         f"{report.pct(mean['oos_recall'])} |")
        if "Rasa baseline" in banking:
            baton_by_seed = {m.dataset: m for m in banking["Baton"]}
            pairs = [(baton_by_seed[r.dataset], r) for r in banking["Rasa baseline"] if r.dataset in baton_by_seed]
            if len(pairs) < len(banking["Baton"]):
                # Compare like with like: Baton on exactly the seeds the (slow) baseline finished.
                mean = mean_figures([b.overall for b, _ in pairs])
                seeds_run = ", ".join(b.dataset.split()[-1] for b, _ in pairs)
                lines.append(f"| Baton, the baseline's seeds only | {seeds_run} "
                             f"| {report.pct(mean['automation'])} | {report.pct(mean['wrong_answer'])} | "
                             f"{report.pct(mean['oos_recall'])} |")
                missing = [m.dataset.split()[-1] for m in banking["Baton"] if m.dataset not in
                           {r.dataset for r in banking["Rasa baseline"]}]
                cost = max(r.compute_seconds for r in banking["Rasa baseline"])
                lines += ["", f"The baseline was not run on seed {', '.join(missing)} here: its stock DIET pipeline "
                          f"took {cost / 3600:.1f} hours of wall time per seed on this shared machine "
                          f"({_cpu_text(banking['Rasa baseline'])}). `make bench-nlu` runs every seed for both "
                          "systems; the cache in .cache/nlu-eval keeps each finished seed."]
            at_same = [report.at_baseline_automation(b, r) for b, r in pairs]
            if all(at_same):
                mean = mean_figures(at_same)
                base = mean_figures([r.overall for _, r in pairs])
                lines += ["", f"At the baseline's own automation rate (per seed, seeds both ran), Baton's curve gives "
                          f"{report.pct(mean['wrong_answer'])} wrong answers against the baseline's "
                          f"{report.pct(base['wrong_answer'])}."]
        elif len(store_runs) > 1:
            lines += ["", "The baseline was not run on Banking77 in this run (`--baseline-seeds` named none): "
                      "`make bench-nlu` runs it on every seed."]
        lines += ["", "Per seed:", "", "| seed | system | automation | wrong answers | out-of-scope recall | thresholds |",
                  "|---|---|---|---|---|---|"]
        for name, runs in banking.items():
            for m in runs:
                t = (f"default {m.policy.confidence_threshold:.2f}, margin {m.policy.ambiguity_margin:.2f}, "
                     f"{len(m.policy.intent_thresholds)} per-intent" if m.choice else "Rasa fallback 0.3")
                lines.append(f"| {m.dataset.split()[-1]} | {name} | {report.three(m.overall)} | {t} |")
        shown = banking.get("Rasa baseline", banking["Baton"])[0].dataset  # a seed every system ran
        lines += ["", f"Curves (one global threshold), seed {shown.split()[-1]}:", "",
                  report.curve_table([m for runs in banking.values() for m in runs if m.dataset == shown])]
    lines += ["", "### Speed", "",
              f"- Parse (Rasa `parse_message`, store set): median {baton.parse_ms_median:.1f} ms, "
              f"p95 {baton.parse_ms_p95:.1f} ms" + (f" (baseline {store_runs[1].parse_ms_median:.1f} ms)"
                                                   if len(store_runs) > 1 else "") + ".",
              f"- NLU training on data/nlu.yml: Baton {baton.train_seconds:.0f} s"
              + (f", baseline {store_runs[1].train_seconds:.0f} s" if len(store_runs) > 1 else "") + "."]
    if result.get("production_training_seconds"):
        lines.append(f"- `baton train` of the production config ({result['config']}, NLU and dialogue) from "
                     f"scratch: {result['production_training_seconds']:.0f} s.")
    lines.append(RESULTS_END)
    return "\n".join(lines)


def _skipped_text(seeds: Sequence[int]) -> str:
    return f", plus the baseline on Banking77 seed {', '.join(map(str, seeds))} (see below)"


def _cpu_text(runs: Sequence[Measurement]) -> str:
    cpu = [m.cpu_seconds for m in runs if m.cpu_seconds]
    return f"{max(cpu) / 3600:.1f} CPU-hours" if cpu else "CPU time not recorded"


def _write_results_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Benchmark results\n"
    if RESULTS_START in text and RESULTS_END in text:
        head, rest = text.split(RESULTS_START, 1)
        text = head + section + rest.split(RESULTS_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
