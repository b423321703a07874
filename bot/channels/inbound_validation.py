"""Checks every channel applies to customer text before anything is stored."""

from __future__ import annotations

from typing import Any, Dict, Optional

MAX_ID_CHARS = 200


class BadInput(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def clean_text(value: Any, max_chars: int) -> str:
    if not isinstance(value, str):
        raise BadInput("missing_message", "`message` must be a string")
    if "\x00" in value:
        raise BadInput("bad_message", "`message` must not contain NUL characters")
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
    return text


def clean_metadata(value: Any) -> Dict[str, Any]:
    """Keep flat, small metadata (page URL, language, the shop's customer id)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput("bad_metadata", "`metadata` must be an object")
    kept: Dict[str, Any] = {}
    for key, item in list(value.items())[:30]:
        if isinstance(item, (str, int, float, bool)) and len(str(key)) <= 60:
            kept[str(key)] = item if not isinstance(item, str) else item[:500]
    return kept
