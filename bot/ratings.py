"""The one-question satisfaction rating: asked when a person resolves a conversation, answered in the widget.

The question is a system message whose payload carries `rating_request` (the agent it is about,
the scale); the answer is stored once per question (`ratings`) and noted on that message, so
the console's transcript and the widget's history both show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

from bot.events import DomainEvent, EventBus, EventName
from bot.store.conversations import MessageDraft
from bot.store.ratings import AlreadyRated, NotARatingRequest, RatingStore
from bot.domain import SenderKind
from bot.views import MessageView

SCALE = 5
QUESTION = "How satisfied are you with the help you got today?"


class RatingRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RatingQuestion:
    text: str = QUESTION

    def draft(self, agent_id: Optional[int]) -> MessageDraft:
        """The question as a stored system message (channels without a rating control show the text)."""
        return MessageDraft(SenderKind.SYSTEM, f"{self.text} (1 = not at all, {SCALE} = very)",
                            {"rating_request": {"question": self.text, "scale": SCALE, "agent_id": agent_id}})


class Ratings:
    def __init__(self, store: RatingStore, bus: EventBus) -> None:
        self.store = store
        self.bus = bus

    async def rate(self, conversation_id: int, request_message_id: Any, score: Any) -> MessageView:
        """A customer's answer; `conversation_id` is theirs (the channel knows who is asking)."""
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= SCALE:
            raise RatingRefused("bad_score", f"a rating is a whole number from 1 to {SCALE}")
        if isinstance(request_message_id, bool) or not isinstance(request_message_id, int) \
                or not 1 <= request_message_id <= 2 ** 31 - 1:
            raise RatingRefused("bad_message_id", "message_id names the question being answered")
        try:
            message = await self.store.rate(request_message_id, conversation_id, score)
        except NotARatingRequest:
            raise RatingRefused("not_a_question", "that message did not ask for a rating in this chat")
        except AlreadyRated:
            raise RatingRefused("already_rated", "this question was answered already")
        request: Dict[str, Any] = message.payload["rating_request"]
        self.bus.publish(DomainEvent(EventName.RATED, conversation_id, (message,),
                                     data={"score": score, "agent_id": request.get("agent_id"),
                                           "message_id": message.id}))
        return message
