"""Static pages: the demo shop with the widget at `/`, `/widget.js`, and the console."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
CONSOLE_DIR = ROOT / "agent_console" / "web" / "console"
VENDOR_DIR = ROOT / "agent_console" / "web" / "vendor"
WIDGET_DIR = ROOT / "bot" / "channels" / "webchat_assets"

CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data: https:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
               "base-uri 'none'; form-action 'self'")


def _file(path: Path, content_type: str, csp: str = "", cache: str = "no-cache"):
    async def handler(request: web.Request) -> web.StreamResponse:
        if not path.is_file():
            return web.Response(status=404, text=f"{path.name} is missing from this installation")
        headers = {"Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
        if csp:
            headers["Content-Security-Policy"] = csp
        return web.FileResponse(path, headers={**headers, "Content-Type": content_type})

    return handler


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/", _file(WIDGET_DIR / "demo.html", "text/html; charset=utf-8"))
    r.add_get("/widget.js", _file(WIDGET_DIR / "widget.js", "application/javascript; charset=utf-8"))
    r.add_get("/console", _file(CONSOLE_DIR / "index.html", "text/html; charset=utf-8", CONSOLE_CSP))
    r.add_get("/console/", _file(CONSOLE_DIR / "index.html", "text/html; charset=utf-8", CONSOLE_CSP))
    r.add_static("/console/static/", CONSOLE_DIR, append_version=False)
    r.add_static("/static/vendor/", VENDOR_DIR, append_version=False)
