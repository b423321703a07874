"""One message, several requests: "where is my order and how do I reset my password".

Rasa gives a message one intent. Answering it would leave the customer half-answered, the second
request silently dropped. So a message is cut where customers join requests (" and ", " also ",
a question mark, a sentence end), each part is parsed on its own, and the handoff policy sees the
parts: confident requests of different kinds in one message are not answered as if they were one
(`HandoffReason.MULTIPLE_REQUESTS`). Parts of one kind ("where is my order and when will it
arrive") are one request, answered as usual.
"""

from __future__ import annotations

import re
from typing import List

# Sentence ends and the words customers join two requests with. A comma alone joins too much
# else ("hi, where is my order") to count.
_JOINS = re.compile(r"(?:[?!;]+|\.(?=\s))\s*|\s+(?:and also|and then|and|also|plus|as well as|&)\s+",
                    re.IGNORECASE)
_LEADING_JOIN = re.compile(r"^(?:and also|and|also|plus|oh and|by the way)\b[\s,]*", re.IGNORECASE)
MIN_WORDS = 2          # "klarna" after "paypal and" is not a request of its own
MAX_PARTS = 4          # beyond that it is a letter, not a chat message: parsed whole only


def request_parts(text: str) -> List[str]:
    """The message's parts that could each be a request; [] when it is one part."""
    parts = [_LEADING_JOIN.sub("", p.strip(" ,.;:!?-")) for p in _JOINS.split(text or "")]
    parts = [p for p in parts if len(p.split()) >= MIN_WORDS]
    if len(parts) < 2 or len(parts) > MAX_PARTS:
        return []
    return parts
