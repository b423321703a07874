"""Static pages: the demo shop with the widget at `/`, `/widget.js`, and the console.

Every console file is served with the console's Content-Security-Policy and may not be
framed (clickjacking); the widget script is meant to be embedded, so it is not restricted.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
CONSOLE_DIR = ROOT / "agent_console" / "web" / "console"
VENDOR_DIR = ROOT / "agent_console" / "web" / "vendor"
WIDGET_DIR = ROOT / "bot" / "channels" / "webchat_assets"

CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data: https:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
               "base-uri 'none'; form-action 'self'")
CONSOLE_PREFIXES = ("/console", "/static/vendor/")


# A file name Baton ships: no directories, no dot-files, short. aiohttp's own static handler
# answered a 500 for a name longer than the file system allows (stat raised ENAMETOOLONG).
SHIPPED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _file(path: Path, content_type: str, cache: str = "no-cache"):
    async def handler(request: web.Request) -> web.StreamResponse:
        if not path.is_file():
            return web.Response(status=404, text=f"{path.name} is missing from this installation")
        return web.FileResponse(path, headers={"Cache-Control": cache, "Content-Type": content_type})

    return handler


def _directory(root: Path):
    """Files directly in `root`, by name; anything else is a 404."""

    async def handler(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = root / name
        if not SHIPPED_NAME.fullmatch(name) or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    return handler


@web.middleware
async def security_headers(request: web.Request, handler):
    """Headers on every response; the console's pages and files also get its CSP and no framing."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith(CONSOLE_PREFIXES):
        response.headers["Content-Security-Policy"] = CONSOLE_CSP
        response.headers["X-Frame-Options"] = "DENY"
    if isinstance(response, web.HTTPException):
        raise response
    return response


DEMO_SNIPPET = '<script src="/widget.js" data-title='


async def demo_shop(request: web.Request) -> web.Response:
    """The demo shop; with `--demo` its visitor is signed in as a demo customer (a signed shop id)."""
    page = (WIDGET_DIR / "demo.html").read_text(encoding="utf-8")
    customer = request.app.get("demo_customer")
    if customer:
        attributes = " ".join(f'data-customer-{k}="{html.escape(v, quote=True)}"' for k, v in customer.items())
        page = page.replace(DEMO_SNIPPET, f'<script src="/widget.js" {attributes} data-title=', 1)
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-cache"})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", demo_shop)
    r.add_get("/widget.js", _file(WIDGET_DIR / "widget.js", "application/javascript; charset=utf-8"))
    r.add_get("/console", _file(CONSOLE_DIR / "index.html", "text/html; charset=utf-8"))
    r.add_get("/console/", _file(CONSOLE_DIR / "index.html", "text/html; charset=utf-8"))
    r.add_get("/console/static/{name}", _directory(CONSOLE_DIR))
    r.add_get("/static/vendor/{name}", _directory(VENDOR_DIR))
