"""The app factory: wires store, engine, policy, flow, channels and console together."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Optional

import socketio
from aiohttp import web

from agent_console import api as console_api
from agent_console import client_config
from agent_console import web_routes
from agent_console.accounts import Accounts
from agent_console.auth import API_USER, error, origin_allowed
from agent_console.auto_assign import AutoAssigner
from agent_console.broadcaster import ConsoleBroadcaster
from agent_console.context_providers import ContextProvider, DatabaseContextProvider, HttpContextProvider
from agent_console.namespace import AgentNamespace
from agent_console.presence import Presence
from bot.channels.base import ChannelRegistry
from bot.channels.delivery import OutboundDelivery
from bot.channels.rest import RestChannel
from bot.channels.webchat import WebChatChannel, WebChatNamespace
from bot.conversation import ConversationFlow
from bot.engine import RasaEngine
from bot.events import EventBus, EventName
from bot.handoff import HandoffPolicy, PolicyConfig
from bot.sessions import SessionSigner
from bot.settings import Settings
from bot.store.database import create_engine, migrate
from bot.store.repository import ConversationStore, NotFound
from bot.takeover import Takeover

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: ConversationStore
    engine: RasaEngine
    bus: EventBus
    flow: ConversationFlow
    takeover: Takeover
    accounts: Accounts
    presence: Presence
    context_provider: ContextProvider
    channels: ChannelRegistry
    sio: socketio.AsyncServer
    webchat: WebChatNamespace
    agents: Optional[AgentNamespace] = None

    async def show_agent_typing(self, conversation_id: int, typing: bool) -> None:
        try:
            identity = await self.store.identity_of(conversation_id)
        except NotFound:
            return
        channel = self.channels.get(identity.channel)
        if hasattr(channel, "typing"):
            await channel.typing(identity.external_id, typing)


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
    if path.startswith("/api/") and not origin_allowed(origin, request.host, settings.console_origins):
        return error(403, "origin_not_allowed", f"origin {origin} may not use the console API")
    if path.startswith("/webhooks/") and origin:
        if "*" not in settings.allowed_origins and origin not in settings.allowed_origins \
                and origin not in settings.own_origins and not origin_allowed(origin, request.host, ()):
            return error(403, "origin_not_allowed", f"origin {origin} is not in BATON_ALLOWED_ORIGINS")
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
    services: Services = request.app["services"]
    return web.json_response({"status": "ok", "model": services.engine.status,
                              "model_error": services.engine.error})


def create_app(settings: Settings, engine: Optional[RasaEngine] = None, run_migrations: bool = True,
               wait_for_model: bool = True) -> web.Application:
    """Build the aiohttp app. Pass `engine` to share one loaded model between apps (tests)."""
    owns_engine = engine is None
    engine = engine or RasaEngine(settings.model_path, settings.bot_timeout_seconds)
    db = create_engine(settings.database_url)
    store = ConversationStore(db)
    bus = EventBus()
    policy = HandoffPolicy(PolicyConfig.from_settings(settings))
    flow = ConversationFlow(store, engine, policy, bus)
    accounts = Accounts(store)
    channels = ChannelRegistry()
    cors = _cors_origins(settings)
    manager = (socketio.AsyncRedisManager(settings.redis_url, channel=settings.redis_channel)
               if settings.redis_url else None)
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=cors,
                               client_manager=manager, max_http_buffer_size=1_000_000)
    webchat = WebChatNamespace(flow, store, bus, SessionSigner(settings.secret_key,
                                                               settings.session_lifetime_days * 86400),
                               settings.max_message_chars, settings.customer_messages_per_minute,
                               settings.new_sessions_per_minute_per_ip)
    provider: ContextProvider = (HttpContextProvider(settings.crm_url) if settings.crm_url
                                 else DatabaseContextProvider(store))
    services = Services(settings=settings, store=store, engine=engine, bus=bus, flow=flow,
                        takeover=Takeover(store, engine, bus), accounts=accounts, presence=Presence(store),
                        context_provider=provider, channels=channels, sio=sio, webchat=webchat)
    agents = AgentNamespace(services)
    services.agents = agents
    sio.register_namespace(webchat)
    sio.register_namespace(agents)

    rest = RestChannel(flow, settings.max_message_chars, settings.max_body_bytes, settings.rest_token,
                       settings.rest_callback_url)
    channels.register(rest)
    channels.register(WebChatChannel(webchat))

    bus.subscribe(ConsoleBroadcaster(agents))
    bus.subscribe(OutboundDelivery(store, channels))
    if settings.auto_assign:
        bus.subscribe(AutoAssigner(services), EventName.HANDED_OFF)

    app = web.Application(middlewares=[origin_guard], client_max_size=settings.max_body_bytes + 1024)
    app["services"] = services
    sio.attach(app)
    rest.add_routes(app)
    console_api.add_routes(app)
    client_config.add_routes(app)
    web_routes.add_routes(app)
    app.router.add_get("/healthz", health)

    async def on_startup(app: web.Application) -> None:
        if run_migrations:
            await migrate(settings.database_url)
        if settings.admin_token:
            await accounts.ensure_user(API_USER, settings.admin_token, "admin", "API token")
        if owns_engine:
            engine.start()
        if wait_for_model:
            await engine.wait_loaded(settings.model_load_timeout_seconds)
        services.takeover.intents = engine.intents or None

    async def on_cleanup(app: web.Application) -> None:
        if owns_engine:
            engine.stop()
        await db.dispose()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
