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
import copy
import logging
import os
import threading
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

from bot.domain import BotReply, NluParse
from bot.entity_values import clean_entity_values

log = logging.getLogger(__name__)


class BotFailure(Exception):
    """The bot could not produce an answer."""


class BotUnavailable(BotFailure):
    """No usable model: missing, corrupt, or still loading."""


class BotTimeout(BotFailure):
    """The bot took longer than the configured budget."""


class BotCrashed(BotFailure):
    """Rasa raised while handling the message."""


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
        self._ready = threading.Event()
        self.error: Optional[str] = None
        self.intents: List[str] = []

    # ---- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Start the engine thread and begin loading the model (returns at once)."""
        if self._thread is not None:
            return
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
            from rasa.core.agent import Agent

            agent = Agent.load(str(self.model_path))
            if agent.processor is None:
                raise RuntimeError("model loaded without a processor")
            self._agent = agent
            self.intents = sorted(i for i in agent.domain.intent_properties.keys() if not i.startswith("nlu_"))
            log.info("model %s loaded", self.model_path.name)
        except Exception as exc:  # a corrupt model is an expected operating condition
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("could not load the Rasa model: %s", self.error)
        finally:
            self._ready.set()

    async def wait_loaded(self, timeout: Optional[float] = None) -> bool:
        """Wait until loading finished; True if a model is usable."""
        loaded = await asyncio.get_running_loop().run_in_executor(None, self._ready.wait, timeout)
        return bool(loaded and self._agent is not None)

    @property
    def ready(self) -> bool:
        return self._agent is not None

    @property
    def status(self) -> str:
        if self._agent is not None:
            return "ready"
        return "failed" if self._ready.is_set() else "loading"

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    # ---- calls ---------------------------------------------------------------

    async def _call(self, work: Callable[[Any], Awaitable[Any]]) -> Any:
        if self._agent is None or self._loop is None:
            raise BotUnavailable(self.error or "the model is still loading")
        future = asyncio.run_coroutine_threadsafe(work(self._agent), self._loop)
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
        async def work(agent):
            from rasa.core.channels.channel import UserMessage

            return await agent.processor.parse_message(UserMessage(text))

        return NluParse.from_rasa(clean_entity_values(await self._call(work)))

    async def respond(self, conversation_key: str, parse: NluParse,
                      metadata: Optional[Dict[str, Any]] = None,
                      force_intent: Optional[str] = None) -> List[BotReply]:
        """Run Rasa's dialogue on an already-parsed message; [] means the bot had nothing."""
        parse_data = copy.deepcopy(parse.raw)
        if force_intent:
            parse_data["intent"] = {"name": force_intent, "confidence": parse.confidence}

        async def work(agent):
            from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

            output = CollectingOutputChannel()
            message = UserMessage(parse.text, output, conversation_key, parse_data=parse_data,
                                  input_channel="baton", metadata=metadata or {})
            return await agent.handle_message(message) or []

        return [BotReply.from_rasa(m) for m in await self._call(work)]

    async def record_customer_message(self, conversation_key: str, parse: NluParse,
                                      metadata: Optional[Dict[str, Any]] = None) -> None:
        """Log a message on the bot's tracker without letting the bot answer it."""
        async def work(agent):
            from rasa.core.channels.channel import UserMessage

            message = UserMessage(parse.text, None, conversation_key, parse_data=copy.deepcopy(parse.raw),
                                  input_channel="baton", metadata=metadata or {})
            await agent.processor.log_message(message, should_save_tracker=True)

        await self._call(work)

    async def record_agent_message(self, conversation_key: str, text: str, agent_name: str) -> None:
        """Tell the bot what a person said, so it has the context when it resumes."""
        await self._append_events(conversation_key, lambda ev: [
            ev.BotUttered(text, metadata={"baton_agent": agent_name})])

    async def pause(self, conversation_key: str) -> None:
        await self._append_events(conversation_key, lambda ev: [ev.ConversationPaused()])

    async def resume(self, conversation_key: str) -> None:
        await self._append_events(conversation_key, lambda ev: [ev.ConversationResumed()])

    async def _append_events(self, conversation_key: str, make_events) -> None:
        async def work(agent):
            import rasa.shared.core.events as ev

            processor = agent.processor
            tracker = await processor.fetch_tracker_and_update_session(conversation_key)
            for event in make_events(ev):
                tracker.update(event)
            await processor.save_tracker(tracker)

        await self._call(work)

    async def is_paused(self, conversation_key: str) -> bool:
        async def work(agent):
            tracker = await agent.processor.get_tracker(conversation_key)
            return tracker.is_paused()

        return await self._call(work)
