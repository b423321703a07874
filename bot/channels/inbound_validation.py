"""Checks every channel applies to what a customer sends, before anything is stored."""

from __future__ import annotations

import math
from typing import Any, Dict, Optional

from bot.text_rules import text_problem

MAX_ID_CHARS = 200
MAX_METADATA_KEYS = 30


class BadInput(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def clean_text(value: Any, max_chars: int) -> str:
    if not isinstance(value, str):
        raise BadInput("missing_message", "`message` must be a string")
    problem = text_problem(value)
    if problem:
        raise BadInput("bad_message", f"`message`: {problem}")
    if not value.strip():
        raise BadInput("empty_message", "`message` is empty")
    if len(value) > max_chars:
        raise BadInput("message_too_long", f"`message` is limited to {max_chars} characters", 413)
    return value.strip()


def clean_id(value: Any, field: str, required: bool = True) -> Optional[str]:
    if value is None or value == "":
        if required:
            raise BadInput(f"missing_{field}", f"`{field}` is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadInput(f"bad_{field}", f"`{field}` must be a string")
    text = str(value).strip()
    if not text:
        raise BadInput(f"missing_{field}", f"`{field}` is required")
    if len(text) > MAX_ID_CHARS:
        raise BadInput(f"bad_{field}", f"`{field}` is limited to {MAX_ID_CHARS} characters")
    problem = text_problem(text)
    if problem:
        raise BadInput(f"bad_{field}", f"`{field}`: {problem}")
    return text


def clean_metadata(value: Any, field: str = "metadata") -> Dict[str, Any]:
    """Keep flat, small metadata (page URL, language, the shop's customer id); refuse what cannot be stored."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput("bad_metadata", f"`{field}` must be an object")
    kept: Dict[str, Any] = {}
    for key, item in list(value.items())[:MAX_METADATA_KEYS]:
        if isinstance(item, float) and not math.isfinite(item):
            raise BadInput("bad_metadata", f"`{field}.{str(key)[:60]}` must be a finite number")
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > 2 ** 63:
            raise BadInput("bad_metadata", f"`{field}.{str(key)[:60]}` is too large a number")
        if not isinstance(item, (str, int, float, bool)) or len(str(key)) > 60:
            continue
        if text_problem(str(key)) or (isinstance(item, str) and text_problem(item)):
            raise BadInput("bad_metadata", f"`{field}` contains text that cannot be stored "
                                           "(NUL or an invalid character)")
        kept[str(key)] = item if not isinstance(item, str) else item[:500]
    return kept
