"""JSON in and out, strictly: what comes in is bounded and finite, what goes out is valid JSON.

Python's `json` accepts `NaN` and `Infinity` (which no other JSON parser does), recurses until
the interpreter's stack gives out on deeply nested input, and raises a bare ValueError on a
5,000-digit integer. Stored and sent back out, a `NaN` made every console's JSON parser fail.
So every body Baton reads goes through `loads`, and everything it writes through `dumps`.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
MAX_INT_DIGITS = 100


class BadJson(ValueError):
    """The text is not JSON Baton accepts; the message says why, for the caller."""

    def __init__(self, message: str, code: str = "malformed_json") -> None:
        super().__init__(message)
        self.code = code


def _refuse_constant(name: str) -> Any:
    raise BadJson(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadJson(f"numbers are limited to {MAX_INT_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJson(f"{text[:20]} is out of range")
    return value


def _depth(text: str) -> int:
    """Nesting depth, counted without recursion (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads(data: str | bytes) -> Any:
    """Parse JSON, refusing NaN/Infinity, deep nesting, huge integers and invalid UTF-8."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise BadJson("the body is not valid UTF-8", "invalid_utf8")
    if _depth(data) > MAX_DEPTH:
        raise BadJson(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(data, parse_constant=_refuse_constant, parse_int=_bounded_int,
                          parse_float=_finite_float)
    except BadJson:
        raise
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise BadJson(f"not valid JSON: {getattr(exc, 'msg', None) or exc}")


def find_problem(value: Any, depth: int = 0) -> str | None:
    """Why an already-parsed value (e.g. a Socket.IO payload) is not acceptable, or None."""
    if depth > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite (no NaN or Infinity)"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10 ** MAX_INT_DIGITS:
        return f"numbers are limited to {MAX_INT_DIGITS} digits"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text contains an invalid character (a lone UTF-16 surrogate)"
    if isinstance(value, dict):
        for key, item in value.items():
            problem = find_problem(key, depth + 1) or find_problem(item, depth + 1)
            if problem:
                return problem
    if isinstance(value, (list, tuple)):
        for item in value:
            problem = find_problem(item, depth + 1)
            if problem:
                return problem
    return None


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """Always valid JSON: a non-finite number that slipped through becomes null, never `NaN`."""
    try:
        return json.dumps(value, allow_nan=False, **kwargs)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False, **kwargs)


class SocketJson:
    """The `json` module python-socketio uses: lenient in (handlers validate), strict out."""

    @staticmethod
    def dumps(value: Any, *args: Any, **kwargs: Any) -> str:
        kwargs.pop("separators", None)
        return dumps(value, separators=(",", ":"))

    @staticmethod
    def loads(data: Any, *args: Any, **kwargs: Any) -> Any:
        return json.loads(data, *args, **kwargs)
