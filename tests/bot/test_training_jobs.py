"""Training runs: a cancel that comes before the run has started still cancels it (no model is trained)."""

from __future__ import annotations

import shutil
import uuid

from bot.domain import Role
from bot.model_training import TrainingJobs
from bot.settings import PROJECT_ROOT
from bot.training_data.project import RasaProject


async def test_a_cancel_before_the_run_starts_trains_nothing(store, bus, tmp_path):
    shutil.copytree(PROJECT_ROOT / "data", tmp_path / "data")
    user = await store.accounts.create(f"trainer-{uuid.uuid4().hex[:6]}", "Trainer", Role.TRAINER, "x", 0)
    # A python that cannot train: if the run started a trainer anyway, it would fail, not cancel.
    jobs = TrainingJobs(store.models, store.settings, RasaProject(tmp_path / "data"), bus, tmp_path / "models",
                        python="/bin/false")
    version = await jobs.start(user, "config-fast.yml")
    await jobs.cancel(version.id)          # before the run's task has had a turn of the loop
    await jobs._task
    finished = await store.models.get(version.id)
    assert finished.status == "cancelled" and jobs.current.stage == "cancelled", finished
    assert not list((tmp_path / "models").glob("*.tar.gz"))
