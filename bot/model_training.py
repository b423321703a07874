"""Training in the background, one run at a time, with live progress; and activating a version.

A run trains a snapshot of `data/` (so trainers can keep editing) in a child process — Rasa's
training would stall the server's loop and the engine's thread — reading its progress lines
(components, and the classifier's epochs and loss where it has them) and publishing them to
every trainer's screen. It can be cancelled; a failure keeps the last lines of the log as its
message. A finished model is evaluated, then waits to be activated: activation swaps it into
the running engine without a restart (`RasaEngine.swap`), and any earlier version can be
activated again (rollback).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Deque, Dict, List, Optional

from bot.events import DomainEvent, EventBus, EventName
from bot.store.models import ModelStore, ModelVersion, SettingsStore
from bot.training_data.project import RasaProject
from bot.training_data.validation import validate
from bot.views import UserView

log = logging.getLogger(__name__)

COMPONENT_LINE = re.compile(r"\]\s+(\d+)/(\d+) components\s+\d+s\s+(.*)$")
LOSS = re.compile(r"t_loss=([\d.]+)")


class TrainingError(Exception):
    def __init__(self, message: str, status: int = 409, problems: Optional[List[dict]] = None) -> None:
        super().__init__(message)
        self.status = status
        self.problems = problems or []


@dataclass
class Progress:
    model_id: int
    stage: str = "preparing"          # preparing | training | evaluating | done | failed | cancelled
    component: Optional[str] = None
    components_done: int = 0
    components_total: int = 0
    epoch: Optional[int] = None
    epochs: Optional[int] = None
    loss: Optional[float] = None
    started: float = field(default_factory=time.monotonic)
    message: Optional[str] = None

    def as_json(self) -> Dict[str, Any]:
        data = asdict(self)
        data["elapsed_seconds"] = round(time.monotonic() - data.pop("started"), 1)
        return data


def parse_progress(line: str, progress: Progress) -> bool:
    """Read one line of the trainer's output into `progress`; True when something changed."""
    component = COMPONENT_LINE.search(line)
    if component:
        progress.components_done, progress.components_total = int(component.group(1)), int(component.group(2))
        label = component.group(3).strip().rstrip("…")
        progress.component = label.replace("training ", "").replace(" done", "")
        return True
    if "Epochs:" in line:
        match = re.search(r"\|\s*(\d+)/(\d+)", line)
        if match:
            progress.epoch, progress.epochs = int(match.group(1)), int(match.group(2))
            loss = LOSS.search(line)
            if loss:
                progress.loss = float(loss.group(1))
            return True
    return False


class TrainingJobs:
    def __init__(self, models: ModelStore, settings_store: SettingsStore, project: RasaProject, bus: EventBus,
                 models_dir: Path, evaluate: Optional[Callable[[Path], Awaitable[Dict[str, Any]]]] = None,
                 handed_to_people: Callable[[], List[str]] = lambda: [], python: str = sys.executable) -> None:
        self.models = models
        self.settings_store = settings_store
        self.project = project
        self.bus = bus
        self.models_dir = Path(models_dir)
        self.evaluate = evaluate
        self.handed_to_people = handed_to_people
        self.python = python
        self.current: Optional[Progress] = None
        self._process: Optional[asyncio.subprocess.Process] = None
        self._task: Optional[asyncio.Task] = None
        self._log: Deque[str] = deque(maxlen=40)
        self._last_publish = 0.0

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self, user: UserView, config: str = "config.yml") -> ModelVersion:
        if self.busy:
            raise TrainingError("a model is already training; wait for it or cancel it", 409)
        if not re.fullmatch(r"[\w.-]+\.ya?ml", config) or not (self.project.data_dir / config).is_file():
            raise TrainingError(f"there is no config {config!r} in the project", 422)
        problems = await asyncio.get_running_loop().run_in_executor(
            None, lambda: validate(self.project, self.handed_to_people()))
        blocking = [p.as_json() for p in problems if p.blocking]
        if blocking:
            raise TrainingError("fix the training data first: " + blocking[0]["message"], 422, blocking)
        self.models_dir.mkdir(parents=True, exist_ok=True)
        snapshot = Path(tempfile.mkdtemp(prefix="baton-train-data-"))
        for name in os.listdir(self.project.data_dir):
            source = self.project.data_dir / name
            if source.is_file():
                shutil.copy2(source, snapshot / name)
        data_version = self.project.version()
        version = await self.models.create(path="", config=config, data_version=data_version, user_id=user.id)
        path = self.models_dir / f"model-{version.id}-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz"
        version = await self._set_path(version, path)
        await self.settings_store.audit(user.id, "model_trained", {"model_id": version.id, "config": config,
                                                                   "data_version": data_version})
        self.current = Progress(version.id)
        self._log.clear()
        self._task = asyncio.get_running_loop().create_task(self._run(version, snapshot, path, config))
        self._publish(force=True)
        return version

    async def _set_path(self, version: ModelVersion, path: Path) -> ModelVersion:
        await self.models.set_path(version.id, str(path))
        return await self.models.get(version.id)

    async def _run(self, version: ModelVersion, snapshot: Path, path: Path, config: str) -> None:
        progress = self.current
        code = None
        try:
            if progress.stage != "cancelled":   # a cancel can come before the run has started
                progress.stage = "training"
                self._publish(force=True)
                code = await self._train(snapshot, path, config)
            if progress.stage == "cancelled":
                await self.models.finish(version.id, "cancelled", "cancelled by a trainer")
                path.unlink(missing_ok=True)
                return
            if code != 0 or not path.is_file():
                tail = "\n".join(list(self._log)[-8:]) or f"the trainer exited with code {code}"
                progress.stage, progress.message = "failed", tail
                await self.models.finish(version.id, "failed", tail)
                path.unlink(missing_ok=True)
                return
            evaluation = None
            if self.evaluate is not None:
                progress.stage = "evaluating"
                self._publish(force=True)
                try:
                    evaluation = await self.evaluate(path)
                except Exception as exc:  # the model is still usable; say why there are no figures
                    log.exception("evaluating model %s failed", version.id)
                    evaluation = {"error": f"{type(exc).__name__}: {exc}"}
            progress.stage = "done"
            await self.models.finish(version.id, "ready", None, evaluation)
        except asyncio.CancelledError:
            progress.stage = "cancelled"
            await asyncio.shield(self.models.finish(version.id, "cancelled", "the server stopped"))
            raise
        except Exception as exc:
            log.exception("training run %s failed", version.id)
            progress.stage, progress.message = "failed", f"{type(exc).__name__}: {exc}"
            await self.models.finish(version.id, "failed", progress.message)
        finally:
            shutil.rmtree(snapshot, ignore_errors=True)
            self._publish(force=True)

    async def _train(self, snapshot: Path, path: Path, config: str) -> int:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
        self._process = await asyncio.create_subprocess_exec(
            self.python, "-m", "bot.cli", "train", "--config", config, "--data-dir", str(snapshot), "--out", str(path),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, start_new_session=True,
            cwd=str(Path(__file__).resolve().parent.parent))
        if self.current is not None and self.current.stage == "cancelled":
            # Cancelled while the process was being started, before there was one to stop.
            os.killpg(self._process.pid, signal.SIGTERM)
        await asyncio.gather(self._read(self._process.stdout), self._read(self._process.stderr))
        return await self._process.wait()

    async def _read(self, stream: asyncio.StreamReader) -> None:
        buffer = b""
        while True:
            chunk = await stream.read(4096)
            if not chunk:
                break
            buffer += chunk
            # tqdm redraws with carriage returns: each redraw is a line here.
            *lines, buffer = re.split(rb"[\r\n]", buffer)
            for raw in lines:
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                self._log.append(line[-300:])
                if self.current and parse_progress(line, self.current):
                    self._publish()

    async def cancel(self, model_id: int) -> None:
        if not self.busy or self.current is None or self.current.model_id != model_id:
            raise TrainingError("that model is not training", 409)
        self.current.stage = "cancelled"
        if self._process is not None and self._process.returncode is None:
            try:
                os.killpg(self._process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        self._publish(force=True)

    async def stop(self) -> None:
        if self.busy:
            if self._process is not None and self._process.returncode is None:
                try:
                    os.killpg(self._process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _publish(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_publish < 0.25:   # a few updates a second is plenty for a bar
            return
        self._last_publish = now
        if self.current is not None:
            self.bus.publish(DomainEvent(EventName.MODEL_CHANGED, 0, data={"training": self.current.as_json()}))


class ModelActivation:
    """Which model version serves customers; switching is live, and any older version can return."""

    def __init__(self, models: ModelStore, settings_store: SettingsStore, engine: Any, bus: EventBus,
                 refresh_seconds: float = 15.0) -> None:
        self.models = models
        self.settings_store = settings_store
        self.engine = engine
        self.bus = bus
        self.refresh_seconds = refresh_seconds
        self._lock = asyncio.Lock()
        self._serving_id: Optional[int] = None
        self._task: Optional[asyncio.Task] = None

    async def activate(self, user: UserView, model_id: int) -> ModelVersion:
        from bot.engine import ModelLoadFailed

        async with self._lock:
            version = await self.models.get(model_id)
            if version is None:
                raise TrainingError(f"no model {model_id}", 404)
            if version.status != "ready":
                raise TrainingError(f"model {model_id} is {version.status}; only a finished model can serve", 409)
            try:
                await self.engine.swap(Path(version.path))
            except ModelLoadFailed as exc:
                raise TrainingError(f"model {model_id} could not be loaded, so the current one keeps serving: {exc}",
                                    422)
            await self.models.mark_active(model_id)
            self._serving_id = model_id
            await self.settings_store.audit(user.id, "model_activated", {"model_id": model_id})
        self.bus.publish(DomainEvent(EventName.MODEL_CHANGED, 0, actor_id=user.id, data={"activated": model_id}))
        return await self.models.get(model_id)

    def serving(self, model_id: Optional[int]) -> None:
        """The version the engine was started with (so the watch does not switch to it again)."""
        self._serving_id = model_id

    async def follow(self) -> None:
        """Other workers' activations reach this one (and a restart keeps the chosen version)."""
        active = await self.models.active()
        if active is None or active.id == self._serving_id or not Path(active.path).is_file():
            return
        async with self._lock:
            try:
                await self.engine.swap(Path(active.path))
                self._serving_id = active.id
            except Exception:
                log.exception("could not switch to the active model %s", active.id)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch(), name="model watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await asyncio.shield(self.follow())
            except Exception:
                log.exception("model watch failed")
