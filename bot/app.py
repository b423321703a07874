"""The app factory: wires store, engine, policy, flow, channels and console together.

This is the composition root: every part gets its dependencies here, explicitly, and the
listeners are subscribed here (docs/architecture.md has the table of who hears what).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime, timezone
from typing import Any, Optional

import socketio
from aiohttp import web

from agent_console import api as console_api
from agent_console import training_api
from agent_console import client_config
from agent_console import admin_api
from agent_console import operations_api
from agent_console import reports_api
from agent_console import web_routes
from agent_console.accounts import Accounts
from agent_console.actions import ActionDeps
from agent_console.auth import error, json_response, origin_allowed
from agent_console.auto_assign import AutoAssigner
from agent_console.broadcaster import ConsoleBroadcaster
from agent_console.console_census import ConsoleCensus
from agent_console.context_providers import ContextProvider, DatabaseContextProvider, HttpContextProvider
from agent_console.customer_context import CustomerContext
from agent_console.login_throttle import LoginThrottle
from agent_console.namespace import AgentNamespace
from agent_console.presence import Presence
from bot.agent_actions import AgentActions
from bot.channels import credentials as channel_credentials
from bot.channels.base import ChannelRegistry
from bot.channels.delivery import (
    DELIVERED_EVENTS, DeliveryReports, IdentityCache, OutboundDelivery, OutboxWorker, TypingRelay,
)
from bot.channels.providers import ProviderDeps, provider_channels
from bot.channels.rest import RestChannel
from bot.channels.wait_relay import WaitStatusRelay
from bot.channels.webchat import WebChatChannel, WebChatNamespace
from bot.conversation import ConversationFlow
from bot.custom_actions import ActionRunner, verified_identity
from bot.engine import BoundEngine, RasaEngine
from bot.events import EventBus, EventName
from bot.handoff import HandoffPolicy, PolicyConfig
from bot.identity import IdentityVerifier
from bot.labelling import Labelling
from bot.live_settings import LiveSettings
from bot.ratings import Ratings
from bot.model_training import ModelActivation, TrainingJobs
from bot.operations_settings import OperationsSettings
from bot.reporting.listener import REPORTED_EVENTS, ReportingListener
from bot.reporting.reports import Reports
from bot.review_inbox import ReviewInbox
from bot.sessions import SessionSigner
from bot.settings import Settings
from bot.socketio_safety import SafePacket
from bot.store import Store
from bot.store.conversations import ConversationStore
from bot.store.database import migrate
from bot.tagging import Tagging
from bot.tracker_backend import TrackerBackend
from bot.turn_locks import TurnLocks
from bot.training_data.project import RasaProject
from bot.waiting.room import WaitConfig, WaitingRoom
from bot.waiting.watch import WATCHED_EVENTS, QueueWatch

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the HTTP handlers reach through `request.app["services"]`."""

    settings: Settings
    store: Store
    conversations: ConversationStore
    engine: BoundEngine
    bus: EventBus
    flow: ConversationFlow
    actions: AgentActions
    labelling: Labelling
    action_deps: ActionDeps
    accounts: Accounts
    presence: Presence
    customer_context: CustomerContext
    channels: ChannelRegistry
    sio: socketio.AsyncServer
    webchat: WebChatNamespace
    agents: AgentNamespace
    login_throttle: LoginThrottle
    outbox_worker: OutboxWorker
    project: RasaProject
    review_inbox: ReviewInbox
    training: TrainingJobs
    activation: ModelActivation
    live_settings: LiveSettings
    waiting_room: Optional[WaitingRoom] = None
    reports: Optional[Reports] = None
    operations: Optional[OperationsSettings] = None


def _cors_origins(settings: Settings) -> Any:
    """Engine.IO's origin check covers the customer channel; the agent namespace checks again.

    python-engineio 4.11 calls a callable check without the request, so Baton's own
    origins are listed explicitly rather than derived from the Host header.
    """
    if "*" in settings.allowed_origins:
        return "*"
    return list(dict.fromkeys([*settings.allowed_origins, *settings.console_origins, *settings.own_origins]))


@web.middleware
async def origin_guard(request: web.Request, handler):
    """The API is for Baton's own console; the REST channel for allowed customer origins."""
    settings: Settings = request.app["services"].settings
    origin = request.headers.get("Origin")
    path = request.path
    if path.startswith("/api/") and not origin_allowed(origin, settings.console_allowed_origins):
        return error(403, "origin_not_allowed",
                     f"origin {origin[:100]} may not use the console API (set BATON_PUBLIC_URL to the address "
                     "people open the console at, or add it to BATON_CONSOLE_ORIGINS)")
    if path.startswith("/webhooks/") and origin:
        if "*" not in settings.allowed_origins and not origin_allowed(
                origin, [*settings.allowed_origins, *settings.own_origins]):
            return error(403, "origin_not_allowed", f"origin {origin[:100]} is not in BATON_ALLOWED_ORIGINS")
        if request.method == "OPTIONS":
            response: web.StreamResponse = web.Response(status=204)
        else:
            response = await handler(request)
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        return response
    return await handler(request)


async def health(request: web.Request) -> web.Response:
    """Liveness: the process answers. It says nothing about the model or the database."""
    return json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    """Readiness, for a load balancer: the model is loaded and the database answers."""
    services: Services = request.app["services"]
    database = "ok"
    try:
        await asyncio.wait_for(asyncio.shield(services.store.ping()), 5)
    except Exception:
        database = "unreachable"
    model = services.engine.status
    ok = model == "ready" and database == "ok"
    return json_response({"status": "ready" if ok else "not_ready", "model": model, "database": database},
                         status=200 if ok else 503)


def _evaluator(settings: Settings, policy: HandoffPolicy):
    """Each trained model is scored on the fixed test set through the live policy, off the loop."""
    async def evaluate(model_path: Path):
        from bot.model_evaluation import evaluate_model

        if not settings.evaluation_test_file.is_file():
            return {"error": f"no test file at {settings.evaluation_test_file.name}"}
        return await asyncio.get_running_loop().run_in_executor(
            None, evaluate_model, model_path, settings.evaluation_test_file, policy.config)

    return evaluate


def _context_provider(settings: Settings, store: Store) -> ContextProvider:
    if settings.crm_url:
        return HttpContextProvider(settings.crm_url, timeout=settings.crm_timeout_seconds)
    return DatabaseContextProvider(store.catalogue)


def create_app(settings: Settings, engine: Optional[Any] = None, run_migrations: bool = True,
               wait_for_model: bool = False) -> web.Application:
    """Build the aiohttp app. Pass `engine` to share one loaded model between apps (tests)."""
    owns_engine = engine is None
    raw_engine = engine or RasaEngine(settings.model_path, settings.bot_timeout_seconds)
    bot = BoundEngine(raw_engine, backend=None)   # its tracker backend is attached on start-up
    store = Store.open(settings.database_url, settings.worker_lock_dir, settings.database_pool_size)
    conversations = store.conversations
    bus = EventBus()
    identities = IdentityVerifier(settings.identity_secret)
    proxies = settings.trusted_proxy_networks

    policy_config = PolicyConfig.from_settings(settings)
    policy = HandoffPolicy(policy_config)
    flow = ConversationFlow(conversations, bot, policy, bus, model_wait_seconds=settings.model_wait_seconds,
                            review_margin=settings.review_margin, turn_locks=TurnLocks(settings.worker_lock_dir))
    live_settings = LiveSettings(policy_config, settings.review_margin, store.settings, policy, flow, bus)
    project = RasaProject(settings.data_dir)
    review_inbox = ReviewInbox(store.review, project, bus, lambda: raw_engine.intents)
    people = lambda: [*policy.config.always_human_intents, *policy.config.human_request_intents]  # noqa: E731
    training = TrainingJobs(store.models, store.settings, project, bus, settings.models_dir,
                            evaluate=_evaluator(settings, policy), handed_to_people=people)
    activation = ModelActivation(store.models, store.settings, raw_engine, bus)
    accounts = Accounts(store.accounts)
    channels = ChannelRegistry()

    async def reply_guard(conversation) -> Optional[str]:
        channel = channels.get(conversation.channel)
        return await channel.agent_reply_refusal(conversation.id) if channel is not None else None

    actions = AgentActions(conversations, store.accounts, bot, bus, reply_guard=reply_guard,
                           rating_channels=lambda name: getattr(channels.get(name), "shows_rating", False))
    labelling = Labelling(conversations, bus, lambda: raw_engine.intents)
    presence = Presence(accounts, conversations)
    tagging = Tagging(store.tags, bus, settings.tag_rules)
    action_deps = ActionDeps(actions, labelling, presence, tagging)
    crm = _context_provider(settings, store)
    customer_context = CustomerContext(conversations, crm, bot)
    action_runner = ActionRunner(settings.actions_packages, crm, verified_identity(conversations),
                                 settings.action_timeout_seconds)

    manager = (socketio.AsyncRedisManager(settings.redis_url, channel=settings.redis_channel)
               if settings.redis_url else None)
    # Pre-forked workers share one port and the kernel spreads connections among them: a
    # long-polling session's next request could reach a worker that does not know it.
    transports = ["websocket"] if settings.worker_lock_dir is not None else ["polling", "websocket"]
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=_cors_origins(settings),
                               client_manager=manager, max_http_buffer_size=1_000_000, serializer=SafePacket,
                               transports=transports)
    webchat = WebChatNamespace(flow, conversations, bus,
                               SessionSigner(settings.secret_key, settings.session_lifetime_days * 86400),
                               identities, settings.max_message_chars, settings.customer_messages_per_minute,
                               settings.new_sessions_per_minute_per_ip, proxies)
    census = ConsoleCensus.from_url(settings.redis_url, settings.redis_channel) if settings.redis_url else None
    agents = AgentNamespace(accounts, conversations, presence, action_deps, customer_context,
                            settings.console_allowed_origins, census)
    sio.register_namespace(webchat)
    sio.register_namespace(agents)

    rest = RestChannel(flow, identities, settings.max_message_chars, settings.max_body_bytes, settings.rest_token,
                       settings.rest_callback_url, settings.rest_messages_per_minute_per_sender,
                       settings.rest_requests_per_minute_per_address, proxies)
    channels.register(rest)
    channels.register(WebChatChannel(webchat))
    providers = provider_channels(
        channel_credentials.load(settings.credentials),
        ProviderDeps(flow, conversations, DeliveryReports(store.outbox, bus), settings.public_url,
                     settings.max_message_chars))
    for provider in providers:
        channels.register(provider)

    identity_cache = IdentityCache(conversations)
    worker = OutboxWorker(store.outbox, conversations, channels, bus, max_attempts=settings.delivery_max_attempts,
                          base_delay=settings.delivery_base_delay_seconds)
    bus.subscribe(ConsoleBroadcaster(agents, conversations))
    bus.subscribe(OutboundDelivery(identity_cache, channels, store.outbox, worker), *DELIVERED_EVENTS)
    bus.subscribe(TypingRelay(identity_cache, channels), EventName.TYPING)
    auto_assigner = AutoAssigner(presence, accounts, actions, enabled=settings.auto_assign)
    bus.subscribe(auto_assigner, EventName.HANDED_OFF)   # switched on and off live (operations settings)
    # The customer's wait: what they are told while they wait for a person (bot/waiting).
    waiting_room = WaitingRoom(store.waiting, store.reporting, conversations, bus, presence.agents_online,
                               lambda name: getattr(channels.get(name), "shows_wait_status", False),
                               WaitConfig.from_settings(settings))
    flow.handoff_notice = waiting_room.handoff_notice
    webchat.waiting = waiting_room
    webchat.ratings = Ratings(store.ratings, bus)
    queue_watch = QueueWatch(waiting_room, settings.wait_check_seconds)
    bus.subscribe(queue_watch, *WATCHED_EVENTS)
    bus.subscribe(WaitStatusRelay(identity_cache, channels), EventName.WAIT_UPDATED)
    bus.subscribe(ReportingListener(store.reporting), *REPORTED_EVENTS)
    bus.subscribe(tagging, EventName.MESSAGE_RECEIVED)   # rules: intent → tag
    operations = OperationsSettings(OperationsSettings.base_from(settings), store.settings, waiting_room, tagging,
                                    auto_assigner, bus)
    webchat.widget_defaults = operations.widget_defaults

    services = Services(settings=settings, store=store, conversations=conversations, engine=bot, bus=bus,
                        flow=flow, actions=actions, labelling=labelling, action_deps=action_deps,
                        accounts=accounts, presence=presence, customer_context=customer_context,
                        channels=channels, sio=sio, webchat=webchat, agents=agents,
                        login_throttle=LoginThrottle(settings.login_failures_per_account, 900.0,
                                                     settings.login_attempts_per_minute_per_address, 60.0),
                        outbox_worker=worker, project=project, review_inbox=review_inbox, training=training,
                        activation=activation, live_settings=live_settings, waiting_room=waiting_room,
                        reports=Reports(store.reporting, store.ratings, store.accounts, settings.business_timezone),
                        operations=operations)

    app = web.Application(middlewares=[web_routes.security_headers, origin_guard, console_api.bad_requests,
                                       admin_api.audit_admin_changes],
                          client_max_size=settings.max_body_bytes + 1024)
    app["services"] = services
    sio.attach(app)
    rest.add_routes(app)
    for provider in providers:
        provider.add_routes(app)
    console_api.add_routes(app)
    training_api.add_routes(app)
    client_config.add_routes(app)
    operations_api.add_routes(app)
    reports_api.add_routes(app)
    admin_api.add_routes(app)
    web_routes.add_routes(app)
    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", ready)

    async def on_startup(app: web.Application) -> None:
        if run_migrations:
            await migrate(settings.database_url)
        await accounts.ensure_api_user()
        # Another process may serve the same customer: a sibling worker, or another server on PostgreSQL.
        shared = settings.worker_lock_dir is not None or not settings.is_sqlite
        bot.backend = TrackerBackend(store.trackers, asyncio.get_running_loop(), actions=action_runner,
                                     shared=shared)
        await live_settings.load()
        await operations.load()
        if settings.worker_lock_dir is None:   # workers: their parent did this once (a restarted worker must not)
            await store.models.abandon_unfinished()
        if owns_engine:
            active = await store.models.active()
            if active is not None and Path(active.path).is_file():
                raw_engine.model_path = Path(active.path)   # a restart keeps the version trainers activated
                activation.serving(active.id)
            raw_engine.start()
            activation.start()
        live_settings.start()
        operations.start()
        await channels.start_all()
        worker.start()
        queue_watch.start()
        app["recovery"] = asyncio.get_running_loop().create_task(_finish_interrupted_turns(services))
        if wait_for_model:
            await raw_engine.wait_ready(settings.model_wait_seconds)

    async def on_shutdown(app: web.Application) -> None:
        # Background tasks end here: aiohttp's run_app waits (up to a minute) for every task
        # still running after the shutdown hooks.
        recovery = app.get("recovery")
        if recovery is not None:
            recovery.cancel()
            await asyncio.gather(recovery, return_exceptions=True)
        try:  # turns accepted for a later answer get a moment to finish (they resume after a restart anyway)
            await asyncio.wait_for(flow.drain(), 10)
        except asyncio.TimeoutError:
            log.warning("shutting down with background turns unfinished; they finish after the restart")
        await training.stop()
        await activation.stop()
        await live_settings.stop()
        await operations.stop()
        await queue_watch.stop()
        await worker.stop()
        await channels.stop_all()
        await bus.drain_briefly(2.0)
        await bus.close()
        await agents.close()

    async def on_cleanup(app: web.Application) -> None:
        flow.turns.close()
        if owns_engine:
            raw_engine.stop()
        accounts.close()
        await store.close()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    return app


async def _finish_interrupted_turns(services: Services) -> None:
    """Turns a crash cut short are finished once the model is ready; replies go out through delivery.

    Only messages that arrived before this process started, and only after a grace period:
    another worker may still be in the middle of a turn it started just before.
    """
    settings = services.settings
    started = datetime.now(timezone.utc)
    if not await services.engine.wait_ready(settings.model_wait_seconds + 60):
        return
    elapsed = (datetime.now(timezone.utc) - started).total_seconds()
    await asyncio.sleep(max(0.0, settings.turn_recovery_grace_seconds - elapsed))
    try:
        for message_id in await services.conversations.unfinished_turns(older_than=started, limit=500):
            await services.flow.finish_interrupted(message_id)
    except Exception:
        log.exception("finishing interrupted turns failed; they will be finished when re-delivered")
