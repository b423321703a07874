"""Models and pristine Rasa agents for the equality tests of Baton's engine speed-ups (they need trained models)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from tests.support import CACHE, data_fingerprint

DATA = PROJECT_ROOT / "data"


def stories_from_rules() -> list:
    """Every rule as a one-turn story, and each pair of rules as a two-turn story.

    data/ has rules only; TED learns from stories. Without them TED has nothing to learn and the
    fast path's equality would hold trivially, so the test model's TED is trained on these.
    """
    rules = yaml.safe_load((DATA / "rules.yml").read_text())["rules"]
    # nlu_fallback is FallbackClassifier's, answered by its rule alone; as a story step Rasa rejects it.
    # Form rules are no stories: a story that went on past an active form would contradict the form's
    # own loop (a rule's condition has no story equivalent either).
    turns = [r["steps"] for r in rules
             if not any(s.get("intent") == "nlu_fallback" or "active_loop" in s for s in r["steps"])
             and not r.get("condition")]
    stories = [{"story": f"one turn {i}", "steps": steps} for i, steps in enumerate(turns)]
    for i, first in enumerate(turns):
        second = turns[(i * 7 + 3) % len(turns)]
        stories.append({"story": f"two turns {i}", "steps": first + second})
    return stories


def _train(model: Path, config: dict, files: dict) -> None:
    """Train `config` on `files` (name -> text) into `model`, in a child process (TensorFlow's
    memory and threads leave with it)."""
    with tempfile.TemporaryDirectory(prefix="baton-test-data-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text)
        (Path(tmp) / "config-test.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        subprocess.run([sys.executable, "-c",
                        "import sys; from pathlib import Path; from bot.training import train; "
                        "train(Path(sys.argv[1]), Path(sys.argv[2]), 'config-test.yml')", tmp, str(model)],
                       cwd=PROJECT_ROOT, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def nlu_examples() -> list:
    """Every example text in data/nlu.yml, in file order."""
    found = []
    for block in yaml.safe_load((DATA / "nlu.yml").read_text())["nlu"]:
        found += [line.strip()[2:] for line in str(block.get("examples", "")).splitlines()
                  if line.strip().startswith("- ")]
    return found


def trained_ted_model() -> Path:
    """The fast pipeline with Memoization, Rule and TED policies, trained once per data version."""
    model = CACHE / f"ted-{data_fingerprint()}.tar.gz"
    if model.is_file():
        return model
    CACHE.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((DATA / "config-fast.yml").read_text())
    config["policies"] = [{"name": "MemoizationPolicy", "max_history": 5},
                          {"name": "RulePolicy", "core_fallback_threshold": 0.3,
                           "enable_fallback_prediction": True},
                          {"name": "TEDPolicy", "max_history": 5, "epochs": 20, "constrain_similarities": True}]
    stories = yaml.safe_dump({"version": "3.1", "stories": stories_from_rules()}, sort_keys=False)
    _train(model, config, {name: (DATA / name).read_text() for name in ("domain.yml", "nlu.yml", "rules.yml")}
           | {"stories.yml": stories})
    return model


DIET_EXAMPLES_PER_INTENT = 12


def few_examples_each(limit: int) -> dict:
    """data/nlu.yml with each intent's first `limit` examples (regexes and entities kept): DIET
    trains in a minute instead of several, and every intent and entity is still there."""
    nlu = yaml.safe_load((DATA / "nlu.yml").read_text())
    for block in nlu["nlu"]:
        if "intent" in block and isinstance(block.get("examples"), str):
            lines = [line for line in block["examples"].splitlines() if line.strip().startswith("- ")]
            block["examples"] = "\n".join(lines[:limit]) + "\n"
    return nlu


def trained_diet_model() -> Path:
    """The stock DIET pipeline (benchmarks/nlu/baseline_config.yml) with few epochs and the rules.

    Production uses the TF-IDF classifier, but a shop may keep DIET: its batched prediction is
    checked against Rasa's own on a model that has one.
    """
    model = CACHE / f"diet-small-{data_fingerprint()}.tar.gz"
    if model.is_file():
        return model
    CACHE.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((PROJECT_ROOT / "benchmarks" / "nlu" / "baseline_config.yml").read_text())
    for component in config["pipeline"]:
        if component["name"] == "DIETClassifier":
            component["epochs"] = 2   # equality with Rasa's own parse needs a DIET, not a good one
    config["policies"] = [{"name": "RulePolicy", "core_fallback_threshold": 0.3, "enable_fallback_prediction": True}]
    nlu = yaml.safe_dump(few_examples_each(DIET_EXAMPLES_PER_INTENT), sort_keys=False, allow_unicode=True)
    _train(model, config, {name: (DATA / name).read_text() for name in ("domain.yml", "rules.yml")}
           | {"nlu.yml": nlu})
    return model


def load_agent(path: Path):
    from rasa.core.agent import Agent

    from bot.engine import quiet_rasa_logging

    quiet_rasa_logging()
    return Agent.load(str(path))


@pytest.fixture(scope="session")
def ted_model_path() -> Path:
    return trained_ted_model()


@pytest.fixture(scope="session")
def diet_model_path() -> Path:
    return trained_diet_model()


@pytest.fixture(scope="module")
def ted_agent(ted_model_path):
    """A plain Rasa Agent on the TED model, one per test module."""
    return load_agent(ted_model_path)


def installed(module):
    """A speed-up module (install/uninstall) switched on for one test, then Rasa's own again."""
    module.install()
    try:
        yield module
    finally:
        module.uninstall()
