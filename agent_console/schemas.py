"""Request bodies the console accepts, as schemas checked at the edge (HTTP and Socket.IO alike).

Types are strict (an id is an integer in range, text is a string that can be stored), so
`{"agent_id": "abc"}`, `{"capacity": [1]}` or an id larger than the database holds is a 4xx
with a message, never a 500.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type, TypeVar

from pydantic import BaseModel, Extra, ValidationError, conint, conlist, constr, validator
from pydantic import StrictBool, StrictStr  # noqa: F401 - re-exported for the schemas below

from bot.text_rules import text_problem

# Every id column is a SQL INTEGER: 32 bits on PostgreSQL, where a larger value made the query
# itself fail (a 500) instead of finding nothing.
MAX_ID = 2 ** 31 - 1
Id = conint(strict=True, ge=1, le=MAX_ID)
Cursor = conint(strict=True, ge=0, le=MAX_ID)


class BadRequest(Exception):
    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class Body(BaseModel):
    class Config:
        extra = Extra.ignore
        anystr_strip_whitespace = False

    @validator("*", pre=True)
    def _storable_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise ValueError(problem)
        return value


class Empty(Body):
    pass


class TextBody(Body):
    text: StrictStr


class TransferBody(Body):
    agent_id: Id


class TypingBody(Body):
    typing: StrictBool


class LabelBody(Body):
    intent: Optional[constr(strict=True, max_length=200)] = None
    out_of_scope: StrictBool = False


class LoginBody(Body):
    username: constr(strict=True, max_length=200)
    password: constr(strict=True, max_length=1024)


class NewUserBody(Body):
    username: constr(strict=True, min_length=1, max_length=80)
    password: constr(strict=True, max_length=1024)
    role: constr(strict=True, regex=r"^(agent|trainer|admin)$")
    display_name: Optional[constr(strict=True, max_length=200)] = None
    capacity: conint(strict=True, ge=0, le=100) = 5


class UserChangeBody(Body):
    display_name: Optional[constr(strict=True, min_length=1, max_length=200)] = None
    role: Optional[constr(strict=True, regex=r"^(agent|trainer|admin)$")] = None
    capacity: Optional[conint(strict=True, ge=0, le=100)] = None
    active: Optional[StrictBool] = None


class PasswordBody(Body):
    password: constr(strict=True, max_length=1024)


class CannedBody(Body):
    shortcut: constr(strict=True, min_length=1, max_length=60, regex=r"^/?[^\s/]+$")
    text: constr(strict=True, min_length=1, max_length=10_000)


class PresenceBody(Body):
    status: constr(strict=True, regex=r"^(online|away)$")


class SyncBody(Body):
    after_id: Cursor = 0


class ConversationRef(Body):
    conversation_id: Id


class MessageRef(Body):
    message_id: Id


B = TypeVar("B", bound=Body)


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:3]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "__root__") or "body"
        parts.append(f"`{where}`: {item.get('msg')}")
    return "; ".join(parts)


def parse(model: Type[B], data: Any) -> B:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadRequest("malformed", "expected a JSON object", 400)
    try:
        return model.parse_obj(data)
    except ValidationError as exc:
        raise BadRequest("invalid", _describe(exc))


def is_number(value: str) -> bool:
    """ASCII digits only: str.isdigit() also says yes to "²" and "①", which int() refuses."""
    return value.isascii() and value.isdigit()


def path_id(value: str) -> int:
    """An id from a URL; anything but a positive id the database can hold is simply not found."""
    if not is_number(value) or len(value) > 10 or not 1 <= int(value) <= MAX_ID:
        raise BadRequest("not_found", "no such id", 404)
    return int(value)


def merged(*parts: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for part in parts:
        out.update(part)
    return out


Version = Optional[constr(strict=True, max_length=64)]
IntentName = constr(strict=True, min_length=1, max_length=63)
ExampleText = constr(strict=True, min_length=1, max_length=500)


class ReviewActBody(Body):
    message_ids: conlist(Id, min_items=1, max_items=500)
    action: constr(strict=True, regex=r"^(confirm|relabel|out_of_scope|dismiss)$")
    intent: Optional[IntentName] = None
    example: Optional[ExampleText] = None
    version: Version = None


class ExamplesBody(Body):
    examples: conlist(ExampleText, min_items=1, max_items=500)
    version: Version = None


class ExampleChangeBody(Body):
    old: ExampleText
    new: ExampleText
    version: Version = None


class ExampleRefBody(Body):
    text: ExampleText
    version: Version = None


class MoveExampleBody(Body):
    text: ExampleText
    from_intent: IntentName
    to_intent: IntentName
    version: Version = None


class NewIntentBody(Body):
    name: IntentName
    examples: conlist(ExampleText, max_items=500) = []
    response: Optional[constr(strict=True, min_length=1, max_length=2000)] = None
    version: Version = None


class RenameIntentBody(Body):
    name: IntentName
    version: Version = None


class VersionBody(Body):
    version: Version = None


class ResponseBody(Body):
    texts: conlist(constr(strict=True, min_length=1, max_length=2000), min_items=1, max_items=20)
    version: Version = None


class TrainBody(Body):
    config: constr(strict=True, regex=r"^[\w.-]+\.ya?ml$") = "config.yml"
