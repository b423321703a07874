"""The conversation state machine: the one place that says which status changes are legal.

Every path that changes a conversation's status (the bot flow, the console, the
HTTP API) asks `next_status` first, so an illegal move (claiming a conversation
the bot still owns, replying to a resolved one) fails the same way everywhere.

    bot ──handoff──▶ queued ──claim──▶ assigned ──transfer──▶ assigned
     │ ▲               │  ▲              ▲ │  │
     │ │               │  └───requeue────┼─┘  │
     │ └───hand_back───┴─────hand_back───┼────┘
     └──────────────take_over────────────┘   (an agent steps into a live bot conversation)
    bot | queued | assigned ──resolve──▶ resolved ──reopen──▶ bot
"""

from __future__ import annotations

import enum
from typing import Dict, FrozenSet, Tuple

from bot.domain import ConversationStatus as S


class Transition(str, enum.Enum):
    HANDOFF = "handoff"
    CLAIM = "claim"
    TRANSFER = "transfer"
    REQUEUE = "requeue"
    HAND_BACK = "hand_back"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    TAKE_OVER = "take_over"


_TABLE: Dict[Transition, Tuple[FrozenSet[S], S]] = {
    Transition.HANDOFF: (frozenset({S.BOT}), S.QUEUED),
    Transition.CLAIM: (frozenset({S.QUEUED}), S.ASSIGNED),
    Transition.TRANSFER: (frozenset({S.ASSIGNED, S.QUEUED}), S.ASSIGNED),
    Transition.REQUEUE: (frozenset({S.ASSIGNED}), S.QUEUED),
    Transition.HAND_BACK: (frozenset({S.QUEUED, S.ASSIGNED}), S.BOT),
    Transition.RESOLVE: (frozenset({S.BOT, S.QUEUED, S.ASSIGNED}), S.RESOLVED),
    Transition.REOPEN: (frozenset({S.RESOLVED}), S.BOT),
    Transition.TAKE_OVER: (frozenset({S.BOT}), S.ASSIGNED),
}


class InvalidTransition(Exception):
    """A status change that the state machine does not allow."""

    def __init__(self, transition: Transition, current: S) -> None:
        self.transition = transition
        self.current = current
        super().__init__(f"cannot {transition.value} a conversation that is {current.value}")


def allowed_from(transition: Transition) -> FrozenSet[S]:
    return _TABLE[transition][0]


def next_status(current: S, transition: Transition) -> S:
    sources, target = _TABLE[transition]
    if current not in sources:
        raise InvalidTransition(transition, current)
    return target


def human_owns(status: S) -> bool:
    """While a person owns (or is about to own) a conversation, the bot stays silent."""
    return status in (S.QUEUED, S.ASSIGNED)
