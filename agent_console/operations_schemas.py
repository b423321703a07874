"""Request bodies of the operations features (issue 18): resolve, transfer, tags, search, settings.

Kept apart from schemas.py so the workbench's schemas and these grow without stepping on each
other; they are Body subclasses like every other, so the fuzz test finds them.
"""

from __future__ import annotations

from typing import Optional

from pydantic import StrictBool, constr

from agent_console.schemas import Body


class ResolveBody(Body):
    closing_message: Optional[constr(strict=True, max_length=10_000)] = None
    ask_rating: StrictBool = False   # the console asks by default; the API only when told


class TagBody(Body):
    tag: constr(strict=True, min_length=1, max_length=100)
    remove: StrictBool = False
