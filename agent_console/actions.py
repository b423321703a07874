"""The agent actions, defined once: the HTTP routes and the Socket.IO events are both built from this table.

Each action names the roles that may do it, the schema of its body, what it acts on (a
conversation or a message) and what it runs. `run_action` applies the role check, the schema
and the one error translation, so a rule or an error reads the same on both paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, FrozenSet, List, Optional, Tuple, Type

from agent_console.operations_schemas import ResolveBody, TagBody
from agent_console.schemas import (
    BadRequest, Body, Empty, LabelBody, TextBody, TransferBody, TypingBody, parse,
)
from bot.agent_actions import ActionError, AgentActions
from bot.domain import AGENT_ROLES, ANY_ROLE, Role
from bot.labelling import Labelling
from bot.tagging import TagError, Tagging
from bot.store.conversations import NotFound
from bot.views import UserView


@dataclass(frozen=True)
class ActionDeps:
    actions: AgentActions
    labelling: Labelling
    presence: Optional[Any] = None   # who is online and how busy (transfer warnings)
    tagging: Optional[Tagging] = None


Runner = Callable[[ActionDeps, UserView, int, Any], Awaitable[Dict[str, Any]]]


@dataclass(frozen=True)
class Action:
    name: str                 # the Socket.IO event
    http: str                 # the last segment of its HTTP route
    subject: str              # "conversation" or "message": what the id names
    roles: FrozenSet[Role]
    body: Type[Body]
    run: Runner


async def _claim(d: ActionDeps, user: UserView, cid: int, body: Empty) -> Dict[str, Any]:
    return {"conversation": (await d.actions.claim(cid, user)).as_json()}


async def _take_over(d: ActionDeps, user: UserView, cid: int, body: Empty) -> Dict[str, Any]:
    return {"conversation": (await d.actions.take_over(cid, user)).as_json()}


async def _reply(d: ActionDeps, user: UserView, cid: int, body: TextBody) -> Dict[str, Any]:
    return {"message": (await d.actions.reply(cid, user, body.text)).as_json()}


async def _note(d: ActionDeps, user: UserView, cid: int, body: TextBody) -> Dict[str, Any]:
    return {"message": (await d.actions.note(cid, user, body.text)).as_json()}


async def _transfer(d: ActionDeps, user: UserView, cid: int, body: TransferBody) -> Dict[str, Any]:
    moved = await d.actions.transfer(cid, body.agent_id, user)
    return {"conversation": moved.as_json(), "warnings": await _transfer_warnings(d, body.agent_id)}


async def _transfer_warnings(d: ActionDeps, agent_id: int) -> List[str]:
    """What the agent should know about the target: offline or away, or already at capacity."""
    if d.presence is None:
        return []
    target = next((a for a in await d.presence.roster() if a["id"] == agent_id), None)
    if target is None:
        return []
    name = target.get("display_name") or target.get("username")
    warnings = []
    if target["presence"] != "online":
        warnings.append(f"{name} is {target['presence']}: the customer hears about the transfer when they open it")
    if target["capacity"] and target["active_conversations"] > target["capacity"]:
        warnings.append(f"{name} is over capacity ({target['active_conversations']}/{target['capacity']})")
    return warnings


async def _hand_back(d: ActionDeps, user: UserView, cid: int, body: Empty) -> Dict[str, Any]:
    return {"conversation": (await d.actions.hand_back(cid, user)).as_json()}


async def _resolve(d: ActionDeps, user: UserView, cid: int, body: ResolveBody) -> Dict[str, Any]:
    return {"conversation": (await d.actions.resolve(cid, user, body.closing_message, body.ask_rating)).as_json()}


async def _typing(d: ActionDeps, user: UserView, cid: int, body: TypingBody) -> Dict[str, Any]:
    await d.actions.typing(cid, user, body.typing)
    return {}


async def _tag(d: ActionDeps, user: UserView, cid: int, body: TagBody) -> Dict[str, Any]:
    try:
        if body.remove:
            tag = await d.tagging.untag(cid, body.tag, user)
        else:
            tag = await d.tagging.tag(cid, body.tag, user)
    except TagError as exc:
        raise ActionError(exc.code, exc.message, exc.status)
    return {"tag": tag, "conversation": (await d.actions.conversations.summary(cid)).as_json()}


async def _label(d: ActionDeps, user: UserView, mid: int, body: LabelBody) -> Dict[str, Any]:
    return {"message": (await d.labelling.label(mid, user, body.intent, body.out_of_scope)).as_json()}


ACTIONS: Tuple[Action, ...] = (
    Action("claim", "claim", "conversation", AGENT_ROLES, Empty, _claim),
    Action("take_over", "take_over", "conversation", AGENT_ROLES, Empty, _take_over),
    Action("reply", "reply", "conversation", AGENT_ROLES, TextBody, _reply),
    Action("note", "notes", "conversation", AGENT_ROLES, TextBody, _note),
    Action("transfer", "transfer", "conversation", AGENT_ROLES, TransferBody, _transfer),
    Action("hand_back", "hand_back", "conversation", AGENT_ROLES, Empty, _hand_back),
    Action("resolve", "resolve", "conversation", AGENT_ROLES, ResolveBody, _resolve),
    Action("typing", "typing", "conversation", AGENT_ROLES, TypingBody, _typing),
    Action("tag", "tags", "conversation", AGENT_ROLES, TagBody, _tag),
    Action("label", "label", "message", ANY_ROLE, LabelBody, _label),
)
BY_EVENT: Dict[str, Action] = {a.name: a for a in ACTIONS}


@dataclass(frozen=True)
class Outcome:
    """An action's result for either edge: HTTP status and JSON body (ok answers carry `ok: true`)."""

    status: int
    body: Dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status < 400


def refusal(status: int, code: str, message: str) -> Outcome:
    return Outcome(status, {"ok": False, "error": code, "message": message})


async def run_action(action: Action, deps: ActionDeps, user: UserView, subject_id: int, data: Any) -> Outcome:
    """Check the role, read the body against the action's schema, run it, translate every error once."""
    if user.role not in action.roles:
        return refusal(403, "forbidden", f"a {user.role.value} may not {action.name.replace('_', ' ')}")
    try:
        body = parse(action.body, data)
        result = await action.run(deps, user, subject_id, body)
    except BadRequest as exc:
        return refusal(exc.status, exc.code, exc.message)
    except ActionError as exc:
        return refusal(exc.status, exc.code, exc.message)
    except NotFound as exc:
        return refusal(404, "not_found", str(exc))
    return Outcome(200, {"ok": True, **result})
