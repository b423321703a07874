"""`GET /api/reports`: the simple reports (bot/reporting/reports.py) for the console's charts. Admins only."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from agent_console.auth import error, json_response, requires
from bot.domain import ADMIN_ROLES

DEFAULT_DAYS = 14


def _date(value: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise web.HTTPBadRequest   # turned into a clear answer below


@requires(ADMIN_ROLES)
async def reports(request: web.Request) -> web.Response:
    services = request.app["services"]
    report = services.reports
    report.zone = services.operations.current()["business_timezone"]   # as the admins set it, live
    today = datetime.now(ZoneInfo(report.zone)).date()
    try:
        last = _date(request.query["to"]) if request.query.get("to") else today
        first = _date(request.query["from"]) if request.query.get("from") \
            else last - timedelta(days=DEFAULT_DAYS - 1)
    except web.HTTPBadRequest:
        return error(400, "bad_date", "from and to are dates like 2026-12-31")
    try:
        return json_response(await report.between(first, last))
    except ValueError as exc:
        return error(400, "bad_period", str(exc))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/reports", reports)
