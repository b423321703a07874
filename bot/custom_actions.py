"""Rasa's custom actions (the rasa-sdk action protocol), run inside Baton.

Rasa 3.6 runs custom actions only through an action server: its `RemoteAction` POSTs
`{next_action, sender_id, tracker, domain, version}` to the model's action endpoint and applies
the `{events, responses}` it answers (a 400 with `{action_name, error}` rejects, as forms do).
Baton keeps that protocol exactly and skips the network: the endpoint Rasa is given is
`InProcessActionEndpoint`, whose `request` hands the same JSON to rasa-sdk's own `ActionExecutor`
(what `rasa run actions` serves). So a shop writes actions as every Rasa user does
(`rasa_sdk.Action`, `FormValidationAction`) in a package Baton registers (`BATON_ACTIONS_PACKAGES`,
default `bot.actions`), with no second process to run and no action webhook anyone could call with
a forged tracker.

Actions run on the server's loop, where the database and the CRM client live, not on Rasa's
thread. Rasa logs a failing custom action and carries on without its answer; Baton records the
failure for the turn instead (an exception, the CRM down, no result within
`BATON_ACTION_TIMEOUT_SECONDS`), and the engine turns it into a handoff with reason `bot_error`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional

import ujson

from bot.shop_data import Identity, OrderSource, ShopData

log = logging.getLogger(__name__)

# Set on Rasa's thread for one `respond` call: failures of the custom actions that turn ran.
action_failures: "contextvars.ContextVar[Optional[List[str]]]" = contextvars.ContextVar(
    "baton_action_failures", default=None)

# Set on the server's loop while an action runs: the shop data of its conversation.
_current_shop: "contextvars.ContextVar[Optional[ShopData]]" = contextvars.ContextVar(
    "baton_current_shop", default=None)


class NoShopData(RuntimeError):
    """An action asked for shop data outside Baton's in-process action runner."""


def current_shop() -> ShopData:
    """The shop data of the conversation the running action belongs to."""
    shop = _current_shop.get()
    if shop is None:
        raise NoShopData("shop data is only available to actions Baton runs")
    return shop


def _json_copy(value: Any) -> Any:
    # What the HTTP protocol would carry: nothing shared between Rasa's thread and the server's loop.
    # ujson (a Rasa dependency) copies a long conversation's tracker about 2.7x faster; a value it
    # refuses is left to the standard library, which decides as it always did.
    try:
        return ujson.loads(ujson.dumps(value))
    except (TypeError, ValueError, OverflowError):
        return json.loads(json.dumps(value))


def verified_identity(conversations: Any) -> Callable[[str], Awaitable[Identity]]:
    """What the shop vouched for about a conversation's customer, from Baton's database (never a claim)."""
    async def identity(tracker_key: str) -> Identity:
        customer = await conversations.customer_of_tracker(tracker_key)
        if customer is None or not customer.verified:
            return Identity.anonymous()
        return Identity(True, customer.shop_customer_id, customer.email if customer.email_verified else None)

    return identity


class ActionRunner:
    """One app's custom actions: rasa-sdk's executor, and the shop data actions may read."""

    def __init__(self, packages: Iterable[str], orders: OrderSource,
                 identity_of: Callable[[str], Any], timeout: float) -> None:
        from rasa_sdk.executor import ActionExecutor

        self.executor = ActionExecutor()
        for package in packages:
            self.executor.register_package(package)
        self.orders = orders
        self.identity_of = identity_of   # tracker key -> awaitable Identity (verified_identity)
        self.timeout = timeout

    @property
    def names(self) -> List[str]:
        return sorted(self.executor.actions)

    async def run(self, call: Dict[str, Any]) -> Dict[str, Any]:
        """Run one action call (the protocol's request body) and answer the protocol's response body."""
        sender = str(call.get("sender_id") or "")
        shop = ShopData(lambda: self.identity_of(sender), self.orders)
        token = _current_shop.set(shop)
        try:
            result = await asyncio.wait_for(self.executor.run(call), self.timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no result within {self.timeout:g}s") from None
        finally:
            _current_shop.reset(token)
        return _json_copy(result or {"events": [], "responses": []})


def in_process_endpoint(backend_of_call: Callable[[], Any]) -> Any:
    """The action endpoint Rasa's model is loaded with: the protocol's JSON, without the HTTP.

    `backend_of_call` names the calling app's TrackerBackend (its loop and its ActionRunner): one
    engine may serve several apps (tests), each with its own database and CRM.
    """
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig
    from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

    class InProcessActionEndpoint(EndpointConfig):
        async def request(self, method: str = "post", subpath: Optional[str] = None,
                          content_type: Optional[str] = "application/json", compress: bool = False,
                          **kwargs: Any) -> Any:
            call = _json_copy(kwargs.get("json") or {})
            name = str(call.get("next_action"))
            backend = backend_of_call()
            runner = getattr(backend, "actions", None)
            try:
                if runner is None:
                    raise RuntimeError("no action runner for this conversation")
                return await backend.run(runner.run(call))
            except ActionExecutionRejection as exc:
                # The protocol's answer for a form that cannot use the message: other policies predict.
                raise ClientResponseError(400, "Bad Request", json.dumps(
                    {"action_name": exc.action_name, "error": exc.message}))
            except ActionNotFoundException as exc:
                _failed(name, str(exc))
            except Exception as exc:
                _failed(name, f"{type(exc).__name__}: {exc}")
            # Rasa would log a raised error with a traceback and carry on; the turn fails either way.
            return {"events": [], "responses": []}

    return InProcessActionEndpoint(url="baton://in-process-actions")


def _failed(name: str, why: str) -> None:
    log.warning("custom action %s failed: %s", name, why)
    failures = action_failures.get()
    if failures is not None:
        failures.append(f"custom action {name} failed: {why}")
