"""What text Baton stores: any language and any emoji, but nothing a database or JSON cannot hold.

A NUL character is refused by PostgreSQL; a lone surrogate ("\\ud800", which JSON can carry but
UTF-8 cannot) fails when the text is encoded for the database or a client. Both are refused at
the edge with a clear message instead of failing later, where the customer would see nothing.
"""

from __future__ import annotations

from typing import Optional


def text_problem(text: str) -> Optional[str]:
    """Why `text` cannot be stored, or None when it can."""
    if "\x00" in text:
        return "text must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text contains an invalid character (a lone UTF-16 surrogate)"
    return None
