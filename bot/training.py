"""Training a Rasa model from data/, with a progress bar a person can follow.

Rasa logs component starts at INFO and its DIET epoch bar only shows at INFO;
Baton keeps Rasa's logs quiet and draws its own bar over the graph's training
components (hooked into Rasa's LoggingHook), plus Rasa's per-epoch bar.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Optional, TextIO


def _bar(done: int, total: int, label: str, started: float, width: int = 28) -> str:
    filled = int(width * done / max(total, 1))
    elapsed = time.monotonic() - started
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} components  {elapsed:5.0f}s  {label}"


def _install_progress_hook(out: TextIO) -> None:
    import rasa.engine.training.graph_trainer as graph_trainer
    from rasa.engine.training.hooks import LoggingHook

    class ProgressHook(LoggingHook):
        def __init__(self, pruned_schema) -> None:
            super().__init__(pruned_schema)
            self._training = [name for name, node in pruned_schema.nodes.items()
                              if not self._is_cached_node(node) and self._does_node_train(node)]
            self._done = 0
            self._started = time.monotonic()
            if not self._training:
                print("Nothing changed since the last training; reusing cached components.", file=out)

        def on_before_node(self, node_name, execution_context, config, received_inputs):
            if node_name in self._training:
                component = self._pruned_schema.nodes[node_name].uses.__name__
                print(_bar(self._done, len(self._training), f"training {component}…", self._started),
                      file=out, flush=True)
            return {}

        def on_after_node(self, node_name, execution_context, config, output, input_hook_data):
            if node_name in self._training:
                self._done += 1
                component = self._pruned_schema.nodes[node_name].uses.__name__
                print(_bar(self._done, len(self._training), f"{component} done", self._started),
                      file=out, flush=True)

    graph_trainer.LoggingHook = ProgressHook


def train(data_dir: Path, output: Path, config_name: str = "config.yml", out: TextIO = sys.stdout,
          nlu_only: bool = False, nlu_file: Optional[Path] = None) -> Path:
    """Train data_dir/config_name into exactly `output` (a .tar.gz path); returns it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["LOG_LEVEL"] = "INFO"  # lets Rasa draw its per-epoch bar; loggers stay quiet below
    # Rasa caches components under ./.rasa by default; keep that out of the work tree.
    from bot.settings import PROJECT_ROOT

    os.environ.setdefault("RASA_CACHE_DIRECTORY", str(PROJECT_ROOT / ".cache" / "rasa"))
    warnings.filterwarnings("ignore")  # Rasa's dependency deprecations say nothing to a trainer
    from bot.engine import quiet_rasa_logging

    quiet_rasa_logging()
    _install_progress_hook(out)
    import rasa.model_training

    data_dir = Path(data_dir)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    config = str(data_dir / config_name)
    domain = str(data_dir / "domain.yml")
    started = time.monotonic()
    print(f"Training {'NLU' if nlu_only else 'NLU + dialogue'} from {data_dir} with {config_name}", file=out)
    with tempfile.TemporaryDirectory(prefix="baton-train-") as workdir:
        if nlu_only:
            model = rasa.model_training.train_nlu(config, str(nlu_file or data_dir / "nlu.yml"), workdir,
                                                  fixed_model_name="model", domain=domain)
        else:
            training_files = [str(data_dir / f) for f in ("nlu.yml", "rules.yml", "stories.yml")
                              if (data_dir / f).exists()]
            result = rasa.model_training.train(domain, config, training_files, workdir,
                                               fixed_model_name="model", force_training=True)
            if result.code != 0 or not result.model:
                raise RuntimeError(f"Rasa training failed (code {result.code})")
            model = result.model
        if not model:
            raise RuntimeError("Rasa training produced no model")
        shutil.move(str(model), str(output))
    print(f"Model written to {output} in {time.monotonic() - started:.0f}s", file=out)
    return output
