"""What `baton serve` prints once it listens: where to go, the model's state, how to log in."""

from __future__ import annotations

from typing import List, Tuple

from bot.settings import Settings


def announcement(settings: Settings, heading: str, model: str, demo_logins: List[Tuple[str, str, str]],
                 has_accounts: bool) -> str:
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    lines = [
        "", heading,
        f"  Customer chat (demo shop): {base}/",
        f"  Agent console:             {base}/console",
        f"  REST channel:              POST {base}/webhooks/rest/webhook",
        f"  Model:                     {model}",
    ]
    if demo_logins:
        lines += ["  Demo logins:", *[f"    {role:8} {user} / {password}" for user, password, role in demo_logins]]
    if not has_accounts:
        lines += ["  No console accounts yet: create one with `baton users add NAME --role admin`",
                  "  (or start with --demo for demo logins)."]
    return "\n".join(lines + ["  Stop with Ctrl+C.", ""])
