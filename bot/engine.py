"""Rasa, in-process, on a thread of its own.

Rasa's `parse_message`/`handle_message` are coroutines but run TensorFlow
synchronously; awaited on the server's loop they would stall every socket for
tens of milliseconds per turn. So the Agent lives on a dedicated thread with its
own event loop, and callers await it through `run_coroutine_threadsafe` under a
timeout. A missing or broken model, an exception or a timeout surfaces as a
`BotFailure` subclass, which the conversation flow turns into a handoff.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import gc
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

from bot.domain import AwaitedSlot, BotReply, NluParse
from bot.entity_values import clean_entity_values
from bot.tracker_backend import TrackerBackend, current_backend

log = logging.getLogger(__name__)


class BotFailure(Exception):
    """The bot could not produce an answer."""


class BotUnavailable(BotFailure):
    """No usable model: missing, corrupt, or still loading."""


class BotTimeout(BotFailure):
    """The bot took longer than the configured budget."""


class BotCrashed(BotFailure):
    """Rasa raised while handling the message."""


class ActionFailed(BotCrashed):
    """A custom action failed during the turn (raised, timed out, its CRM was down).

    Rasa had already logged the customer's message on the tracker when it ran the action."""


class ModelLoadFailed(Exception):
    """A model to switch to could not be loaded or used; the running one stays."""


def _load_agent(model_path: Path):
    """Rasa's Agent on Baton's tracker store, with Baton's in-process custom actions."""
    from rasa.core.agent import Agent

    from bot.custom_actions import in_process_endpoint
    from bot.rasa_trackers import BatonTrackerStore

    return Agent.load(str(model_path), tracker_store=BatonTrackerStore(),
                      action_endpoint=in_process_endpoint(current_backend.get))


def _freeze_heap() -> None:
    """Keep the loaded model's millions of objects out of the garbage collector's full passes.

    Python's oldest-generation collection walks every tracked object, and TensorFlow, Rasa and the
    model leave millions: under load one such pass stopped every thread (the server's loop too)
    for some 300 ms. Objects alive once the model is loaded live as long as the process (or the
    model), so they are moved to the permanent generation (`gc.freeze`); later garbage is
    collected as before. A swapped-out model's objects are let go first (`gc.unfreeze`).
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def quiet_rasa_logging() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    for name in ("rasa", "tensorflow", "absl", "matplotlib"):
        logging.getLogger(name).setLevel(logging.WARNING)


class RasaEngine:
    """Owns one Rasa Agent for the life of the process."""

    def __init__(self, model_path: Path, timeout: float = 10.0) -> None:
        self.model_path = Path(model_path)
        self.timeout = timeout
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._agent = None
        self._loaded: "concurrent.futures.Future[bool]" = concurrent.futures.Future()
        self.error: Optional[str] = None
        self.intents: List[str] = []
        self._parses: Any = None     # bot.nlu_batch.ParseQueue, once the model is loaded
        self.fast_path: Any = None   # bot.dialogue_fast_path.DialogueFastPath, when the model allows it

    # ---- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Start the engine thread and begin loading the model (returns at once)."""
        if self._thread is not None:
            return
        # The engine thread runs long stretches of Python; the server's loop and the database
        # driver's thread need the GIL for a moment many times a turn. With Python's default 5 ms
        # switch interval each of those moments could wait 5 ms behind the engine (1 ms here;
        # BATON_GIL_SWITCH_INTERVAL=0 keeps Python's default).
        interval = float(os.environ.get("BATON_GIL_SWITCH_INTERVAL", "0.001"))
        if interval > 0:
            sys.setswitchinterval(interval)
        started = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            started.set()
            self._loop.call_soon(self._load)
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="rasa-engine", daemon=True)
        self._thread.start()
        started.wait()

    def _load(self) -> None:
        try:
            if not self.model_path.is_file():
                raise FileNotFoundError(f"no trained model at {self.model_path} (run `baton train`)")
            quiet_rasa_logging()
            agent = _load_agent(self.model_path)
            if agent.processor is None:
                raise RuntimeError("model loaded without a processor")
            self._speed_up(agent.processor)
            self._agent = agent
            self.intents = sorted(i for i in agent.domain.intent_properties.keys() if not i.startswith("nlu_"))
            _freeze_heap()
            log.info("model %s loaded", self.model_path.name)
        except Exception as exc:  # a corrupt model is an expected operating condition
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("could not load the Rasa model: %s", self.error)
        finally:
            self._loaded.set_result(self._agent is not None)

    def _speed_up(self, processor: Any) -> None:
        """Same answers, less work per message (each module says why its results are Rasa's own)."""
        from bot import (
            action_result_check, dialogue_fast_path, empty_domain_check, nlu_batch, rasa_graph, rasa_states,
            rasa_tracker_copy, rule_memo,
        )

        action_result_check.install()
        empty_domain_check.install()
        rasa_states.install()
        rasa_tracker_copy.install()
        rasa_graph.install(processor)
        diets = nlu_batch.batch_diet(processor)
        self.fast_path = dialogue_fast_path.install(processor)
        memos = rule_memo.install(processor)
        if processor.http_interpreter is None:
            self._parses = nlu_batch.ParseQueue(self._loop, lambda texts: nlu_batch.parse_batch(processor, texts))
        log.info("batched NLU: %s (%d DIET classifiers batched); dialogue fast path: %s; rule search remembered "
                 "for %d RulePolicy", "on" if self._parses else "off", diets, "on" if self.fast_path else "off",
                 len(memos))

    async def wait_ready(self, timeout: Optional[float] = None) -> bool:
        """Wait (without blocking the loop) until loading finished; True if a model is usable."""
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._loaded)), timeout)
        except asyncio.TimeoutError:
            return False
        return self._agent is not None

    def wait_ready_blocking(self, timeout: Optional[float] = None) -> bool:
        """The same, for synchronous callers (command line, test fixtures)."""
        try:
            self._loaded.result(timeout)
        except concurrent.futures.TimeoutError:
            return False
        return self._agent is not None

    @property
    def ready(self) -> bool:
        return self._agent is not None

    @property
    def status(self) -> str:
        if self._agent is not None:
            return "ready"
        return "failed" if self._loaded.done() else "loading"

    # ---- hot swap -------------------------------------------------------------------

    async def swap(self, model_path: Path) -> None:
        """Replace the model while serving: the new one is loaded and tried on a thread of its own,
        then switched in between two calls. Turns in flight finish on the old model; no call ever sees
        a half-loaded one. A model that fails to load or to parse raises `ModelLoadFailed` and the
        running model stays."""
        if self._loop is None:
            raise ModelLoadFailed("the engine is not running")
        loaded = await asyncio.get_running_loop().run_in_executor(None, self._load_and_try, Path(model_path))
        switched = concurrent.futures.Future()

        def switch() -> None:
            self._speed_up(loaded.processor)   # the batch queue and fast path belong to a processor
            self._agent = loaded
            _freeze_heap()
            self.model_path = Path(model_path)
            self.error = None
            self.intents = sorted(i for i in loaded.domain.intent_properties.keys() if not i.startswith("nlu_"))
            if not self._loaded.done():
                self._loaded.set_result(True)
            switched.set_result(True)

        self._loop.call_soon_threadsafe(switch)
        await asyncio.wrap_future(switched)
        log.info("now serving model %s", Path(model_path).name)

    @staticmethod
    def _load_and_try(model_path: Path):
        try:
            if not model_path.is_file():
                raise FileNotFoundError(f"no model file {model_path.name}")
            quiet_rasa_logging()
            agent = _load_agent(model_path)
            if agent.processor is None:
                raise RuntimeError("the model has no processor")
            parsed = asyncio.run(agent.parse_message("hello"))   # its own loop: this agent serves nothing yet
            if not isinstance(parsed, dict) or "intent" not in parsed:
                raise RuntimeError("the model does not parse messages")
            return agent
        except Exception as exc:
            raise ModelLoadFailed(f"{type(exc).__name__}: {exc}") from exc

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    # ---- calls ---------------------------------------------------------------

    async def _call(self, work: Callable[[Any], Awaitable[Any]], backend: Optional[TrackerBackend] = None) -> Any:
        if self._agent is None or self._loop is None:
            raise BotUnavailable(self.error or "the model is still loading")

        async def bound(agent):
            current_backend.set(backend)  # this task's own context: only this call sees it
            return await work(agent)

        future = asyncio.run_coroutine_threadsafe(bound(self._agent), self._loop)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError as exc:
            future.cancel()
            raise BotTimeout(f"no answer within {self.timeout:g}s") from exc
        except BotFailure:
            raise
        except Exception as exc:
            raise BotCrashed(f"{type(exc).__name__}: {exc}") from exc

    async def parse(self, text: str) -> NluParse:
        if self._parses is None:
            async def work(agent):
                from rasa.core.channels.channel import UserMessage

                return await agent.processor.parse_message(UserMessage(text))

            return NluParse.from_rasa(clean_entity_values(await self._call(work)))
        if self._agent is None:
            raise BotUnavailable(self.error or "the model is still loading")
        # Parsed together with whatever else is waiting (bot.nlu_batch), on the engine's thread.
        future = self._parses.submit(text)
        try:
            parse = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except asyncio.TimeoutError as exc:
            future.cancel()
            raise BotTimeout(f"no answer within {self.timeout:g}s") from exc
        except BotFailure:
            raise
        except Exception as exc:
            raise BotCrashed(f"{type(exc).__name__}: {exc}") from exc
        return NluParse.from_rasa(clean_entity_values(parse))

    async def respond(self, conversation_key: str, parse: NluParse,
                      metadata: Optional[Dict[str, Any]] = None,
                      force_intent: Optional[str] = None,
                      backend: Optional[TrackerBackend] = None) -> List[BotReply]:
        """Run Rasa's dialogue on an already-parsed message; [] means the bot had nothing."""
        parse_data = copy.deepcopy(parse.raw)
        if force_intent:
            parse_data["intent"] = {"name": force_intent, "confidence": parse.confidence}

        async def work(agent):
            from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

            from bot.custom_actions import action_failures

            output = CollectingOutputChannel()
            message = UserMessage(parse.text, output, conversation_key, parse_data=parse_data,
                                  input_channel="baton", metadata=metadata or {})
            failures: List[str] = []
            action_failures.set(failures)   # this call's own context: the in-process endpoint reports here
            replies = await agent.handle_message(message) or []
            if failures:
                # Whatever Rasa said around a failed action is dropped: no half or made-up answer.
                raise ActionFailed("; ".join(failures))
            return replies

        return [BotReply.from_rasa(m) for m in await self._call(work, backend)]

    async def record_customer_message(self, conversation_key: str, parse: NluParse,
                                      metadata: Optional[Dict[str, Any]] = None, pause: bool = False,
                                      backend: Optional[TrackerBackend] = None) -> None:
        """Log a message on the bot's tracker without letting the bot answer it (and pause the bot)."""
        async def work(agent):
            import rasa.shared.core.events as ev
            from rasa.core.channels.channel import UserMessage

            message = UserMessage(parse.text, None, conversation_key, parse_data=copy.deepcopy(parse.raw),
                                  input_channel="baton", metadata=metadata or {})
            processor = agent.processor
            tracker = await processor.log_message(message, should_save_tracker=not pause)
            if pause:
                tracker.update(ev.ConversationPaused())
                await processor.save_tracker(tracker)

        await self._call(work, backend)

    async def record_agent_message(self, conversation_key: str, text: str, agent_name: str,
                                   backend: Optional[TrackerBackend] = None) -> None:
        """Tell the bot what a person said, so it has the context when it resumes."""
        await self._append_events(conversation_key, lambda ev: [
            ev.BotUttered(text, metadata={"baton_agent": agent_name})], backend)

    async def pause(self, conversation_key: str, backend: Optional[TrackerBackend] = None) -> None:
        await self._append_events(conversation_key, lambda ev: [ev.ConversationPaused()], backend)

    async def resume(self, conversation_key: str, backend: Optional[TrackerBackend] = None) -> None:
        await self._append_events(conversation_key, lambda ev: [ev.ConversationResumed()], backend)

    async def _append_events(self, conversation_key: str, make_events,
                             backend: Optional[TrackerBackend]) -> None:
        async def work(agent):
            import rasa.shared.core.events as ev

            processor = agent.processor
            tracker = await processor.fetch_tracker_and_update_session(conversation_key)
            for event in make_events(ev):
                tracker.update(event)
            await processor.save_tracker(tracker)

        await self._call(work, backend)

    async def awaiting(self, conversation_key: str,
                       backend: Optional[TrackerBackend] = None) -> Optional[AwaitedSlot]:
        """The slot the bot just asked for (an active form's requested slot), or None."""
        async def work(agent):
            tracker = await _peek(agent, conversation_key)
            if tracker is None or tracker.is_paused() or not tracker.active_loop_name:
                return None
            slot = tracker.get_slot("requested_slot")
            if not slot:
                return None
            mappings = next((s.mappings for s in agent.domain.slots if s.name == slot), [])
            entities = tuple(m["entity"] for m in mappings if m.get("type") == "from_entity" and m.get("entity"))
            return AwaitedSlot(tracker.active_loop_name, str(slot), entities)

        return await self._call(work, backend)

    async def memory(self, conversation_key: str, backend: Optional[TrackerBackend] = None) -> Dict[str, Any]:
        """What the bot remembers of a conversation: its filled slots, and whether it is paused."""
        async def work(agent):
            tracker = await _peek(agent, conversation_key)
            if tracker is None:
                return {"paused": False, "slots": {}}
            slots = {name: value for name, value in tracker.current_slot_values().items()
                     if value is not None and not name.startswith("session_")}
            return {"paused": tracker.is_paused(), "slots": slots}

        return await self._call(work, backend)


async def _peek(agent: Any, conversation_key: str) -> Any:
    """The conversation's tracker, for reading only. Rasa wraps Baton's store in its FailSafeTrackerStore,
    which has no `peek`: asking the wrapper to `retrieve` would take the cached tracker away from the
    next turn (which then rebuilt it from every stored event)."""
    store = agent.processor.tracker_store
    inner = getattr(store, "_tracker_store", store)
    read = getattr(inner, "peek", None) or store.retrieve
    return await read(conversation_key)


class BoundEngine:
    """One app's handle on the shared engine: its calls keep trackers in that app's database."""

    def __init__(self, engine: Any, backend: Optional[TrackerBackend]) -> None:
        self.engine = engine
        self.backend = backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)   # status, ready, error, intents, wait_ready, parse…

    async def respond(self, conversation_key: str, parse: NluParse, metadata: Optional[Dict[str, Any]] = None,
                      force_intent: Optional[str] = None) -> List[BotReply]:
        return await self.engine.respond(conversation_key, parse, metadata, force_intent, backend=self.backend)

    async def record_customer_message(self, conversation_key: str, parse: NluParse,
                                      metadata: Optional[Dict[str, Any]] = None, pause: bool = False) -> None:
        await self.engine.record_customer_message(conversation_key, parse, metadata, pause, backend=self.backend)

    async def record_agent_message(self, conversation_key: str, text: str, agent_name: str) -> None:
        await self.engine.record_agent_message(conversation_key, text, agent_name, backend=self.backend)

    async def pause(self, conversation_key: str) -> None:
        await self.engine.pause(conversation_key, backend=self.backend)

    async def resume(self, conversation_key: str) -> None:
        await self.engine.resume(conversation_key, backend=self.backend)

    async def memory(self, conversation_key: str) -> Dict[str, Any]:
        return await self.engine.memory(conversation_key, backend=self.backend)

    async def awaiting(self, conversation_key: str) -> Optional[AwaitedSlot]:
        return await self.engine.awaiting(conversation_key, backend=self.backend)
