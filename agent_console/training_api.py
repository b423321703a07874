"""The trainer workbench's HTTP API: review inbox, intent data, training, models, handoff settings.

Trainers and admins only (agents label messages, which feeds the inbox, but cannot change the
bot). Edits carry the training-data `version` the trainer saw: a stale one is a 409 with the
current version, so two trainers never overwrite each other.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any, Callable

from aiohttp import web

from agent_console.api import read, read_body
from agent_console.auth import error, json_response, requires
from agent_console.schemas import (
    BadRequest, ExampleChangeBody, ExampleRefBody, ExamplesBody, MoveExampleBody, NewIntentBody, RenameIntentBody,
    ResponseBody, ReviewActBody, TrainBody, VersionBody, parse, path_id,
)
from bot.domain import TRAINER_ROLES
from bot.live_settings import SettingsError
from bot.model_training import TrainingError
from bot.review_inbox import ReviewError, Verdict
from bot.store.review import ReviewFilter
from bot.training_data.project import ProjectError, VersionConflict
from bot.training_data.validation import validate
from bot.training_data.yaml_files import DataFileError


def _project_error(exc: Exception) -> web.Response:
    if isinstance(exc, VersionConflict):
        return json_response({"ok": False, "error": "version_conflict", "message": str(exc),
                              "version": exc.current, "changed": exc.changed}, status=409)
    if isinstance(exc, DataFileError):
        return error(422, "invalid_data_file", str(exc))
    status = getattr(exc, "status", 422)
    return error(status, "not_found" if status == 404 else "conflict" if status == 409 else "invalid", str(exc))


async def _in_thread(request: web.Request, fn: Callable[[], Any]) -> Any:
    # ruamel parses on the calling thread; the project serialises its own edits.
    return await asyncio.get_running_loop().run_in_executor(None, fn)


def _project(request: web.Request):
    return request.app["services"].project


# ---- review inbox ------------------------------------------------------------------------

def _date(value: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest("bad_filter", f"{name} must be a date like 2026-12-01", 400)


@requires(TRAINER_ROLES)
async def review(request: web.Request) -> web.Response:
    q = request.query
    status = q.get("status", "open")
    if status not in ("open", "done", "all"):
        return error(400, "bad_filter", "status is open, done or all")
    labelled = {"true": True, "false": False, None: None}.get(q.get("labelled"))
    limit = q.get("limit", "100")
    if not re.fullmatch(r"[0-9]{1,4}", limit):
        return error(400, "bad_filter", "limit must be a whole number")
    f = ReviewFilter(status=status, reasons=[r for r in q.get("reason", "").split(",") if r],
                     intent=q.get("intent") or None, channel=q.get("channel") or None, labelled=labelled,
                     since=_date(q["since"], "since") if q.get("since") else None,
                     until=_date(q["until"], "until") if q.get("until") else None,
                     text=(q.get("q") or "")[:200] or None,
                     before_id=path_id(q["before_id"]) if q.get("before_id") else None,
                     limit=min(max(int(limit), 1), 500))
    page = await request.app["services"].review_inbox.page(f)
    return json_response({**page, "intents": request.app["services"].review_inbox.intents(),
                          "version": await _in_thread(request, _project(request).version)})


@requires(TRAINER_ROLES)
async def review_similar(request: web.Request) -> web.Response:
    items = await request.app["services"].review_inbox.similar(path_id(request.match_info["id"]))
    return json_response({"items": items})


@requires(TRAINER_ROLES)
async def review_act(request: web.Request) -> web.Response:
    body = await read(request, ReviewActBody)
    try:
        result = await request.app["services"].review_inbox.act(request["user"], Verdict(
            body.message_ids, body.action, body.intent, body.example, body.version))
    except ReviewError as exc:
        status = exc.status
        return error(status, "version_conflict" if status == 409 and "changed since" in str(exc) else
                     "not_found" if status == 404 else "invalid", str(exc))
    return json_response(result)


# ---- intent data ----------------------------------------------------------------------

@requires(TRAINER_ROLES)
async def intents(request: web.Request) -> web.Response:
    try:
        return json_response(await _in_thread(request, _project(request).intents))
    except DataFileError as exc:
        return _project_error(exc)


@requires(TRAINER_ROLES)
async def examples(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    try:
        return json_response(await _in_thread(request, lambda: _project(request).examples(name)))
    except DataFileError as exc:
        return _project_error(exc)


@requires(TRAINER_ROLES)
async def search_examples(request: web.Request) -> web.Response:
    query = (request.query.get("q") or "").strip()
    if not query:
        return error(400, "bad_query", "give some text to search for (?q=)")
    try:
        return json_response(await _in_thread(request, lambda: _project(request).search(query[:200])))
    except DataFileError as exc:
        return _project_error(exc)


def _edit(schema, action: str, run: Callable[[Any, Any, web.Request], Any]):
    @requires(TRAINER_ROLES)
    async def handler(request: web.Request) -> web.Response:
        body = await read(request, schema)
        project = _project(request)
        try:
            result = await _in_thread(request, lambda: run(project, body, request))
        except (ProjectError, DataFileError) as exc:
            return _project_error(exc)
        await request.app["services"].store.settings.audit(request["user"].id, action, {
            "path": request.path, **{k: v for k, v in body.dict().items() if k != "version"}})
        return json_response({"ok": True, **result})

    handler.__name__ = action
    return handler


add_examples = _edit(ExamplesBody, "examples_added", lambda p, b, r: p.add_examples(
    r.match_info["name"], b.examples, b.version))
update_example = _edit(ExampleChangeBody, "example_edited", lambda p, b, r: p.update_example(
    r.match_info["name"], b.old, b.new, b.version))
delete_example = _edit(ExampleRefBody, "example_deleted", lambda p, b, r: p.delete_example(
    r.match_info["name"], b.text, b.version))
move_example = _edit(MoveExampleBody, "example_moved", lambda p, b, r: p.move_example(
    b.text, b.from_intent, b.to_intent, b.version))
add_intent = _edit(NewIntentBody, "intent_added", lambda p, b, r: p.add_intent(
    b.name, b.examples, b.response, b.version))
rename_intent = _edit(RenameIntentBody, "intent_renamed", lambda p, b, r: p.rename_intent(
    r.match_info["name"], b.name, b.version))
delete_intent = _edit(VersionBody, "intent_deleted", lambda p, b, r: p.delete_intent(r.match_info["name"], b.version))
set_response = _edit(ResponseBody, "response_edited", lambda p, b, r: p.set_response(
    r.match_info["name"], b.texts, b.version))


@requires(TRAINER_ROLES)
async def check_data(request: web.Request) -> web.Response:
    services = request.app["services"]
    people = list(services.settings.always_human_intents) + list(services.settings.human_request_intents)
    problems = await _in_thread(request, lambda: validate(services.project, people))
    return json_response({"ok": not any(p.blocking for p in problems), "problems": [p.as_json() for p in problems],
                          "version": await _in_thread(request, services.project.version)})


# ---- training and models ---------------------------------------------------------------

@requires(TRAINER_ROLES)
async def list_models(request: web.Request) -> web.Response:
    services = request.app["services"]
    versions = await services.store.models.list()
    training = services.training.current.as_json() if services.training.current else None
    return json_response({"models": [v.as_json(with_evaluation=False) for v in versions],
                          "serving": {"status": services.engine.status, "file": services.engine.model_path.name},
                          "training": training})


@requires(TRAINER_ROLES)
async def get_model(request: web.Request) -> web.Response:
    version = await request.app["services"].store.models.get(path_id(request.match_info["id"]))
    if version is None:
        return error(404, "not_found", "no such model")
    return json_response({"model": version.as_json()})


@requires(TRAINER_ROLES)
async def train(request: web.Request) -> web.Response:
    # One read: once the body is consumed aiohttp says there is none, so a second read lost the config.
    raw = await read_body(request)
    body = parse(TrainBody, raw) if raw is not None else TrainBody()
    try:
        version = await request.app["services"].training.start(request["user"], body.config)
    except TrainingError as exc:
        return json_response({"ok": False, "error": "cannot_train", "message": str(exc), "problems": exc.problems},
                             status=exc.status)
    return json_response({"ok": True, "model": version.as_json()}, status=202)


@requires(TRAINER_ROLES)
async def cancel_training(request: web.Request) -> web.Response:
    try:
        await request.app["services"].training.cancel(path_id(request.match_info["id"]))
    except TrainingError as exc:
        return error(exc.status, "not_training", str(exc))
    return json_response({"ok": True})


@requires(TRAINER_ROLES)
async def activate(request: web.Request) -> web.Response:
    try:
        version = await request.app["services"].activation.activate(request["user"], path_id(request.match_info["id"]))
    except TrainingError as exc:
        return error(exc.status, "cannot_activate", str(exc))
    return json_response({"ok": True, "model": version.as_json(with_evaluation=False)})


# ---- handoff settings ---------------------------------------------------------------------

@requires(TRAINER_ROLES)
async def get_handoff_settings(request: web.Request) -> web.Response:
    return json_response({"settings": request.app["services"].live_settings.current()})


@requires(TRAINER_ROLES)
async def put_handoff_settings(request: web.Request) -> web.Response:
    body = await read_body(request)
    if not isinstance(body, dict):
        return error(400, "malformed", "expected a JSON object of settings")
    try:
        current = await request.app["services"].live_settings.update(request["user"], body)
    except SettingsError as exc:
        return error(422, "bad_setting", str(exc))
    return json_response({"ok": True, "settings": current})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/review", review)
    r.add_post("/api/review/act", review_act)
    r.add_get("/api/review/{id}/similar", review_similar)
    r.add_get("/api/training/intents", intents)
    r.add_post("/api/training/intents", add_intent)
    r.add_patch("/api/training/intents/{name}", rename_intent)
    r.add_delete("/api/training/intents/{name}", delete_intent)
    r.add_get("/api/training/intents/{name}/examples", examples)
    r.add_post("/api/training/intents/{name}/examples", add_examples)
    r.add_put("/api/training/intents/{name}/examples", update_example)
    r.add_delete("/api/training/intents/{name}/examples", delete_example)
    r.add_post("/api/training/examples/move", move_example)
    r.add_get("/api/training/examples", search_examples)
    r.add_put("/api/training/responses/{name}", set_response)
    r.add_get("/api/training/validate", check_data)
    r.add_get("/api/models", list_models)
    r.add_post("/api/models/train", train)
    r.add_get("/api/models/{id}", get_model)
    r.add_post("/api/models/{id}/cancel", cancel_training)
    r.add_post("/api/models/{id}/activate", activate)
    r.add_get("/api/settings/handoff", get_handoff_settings)
    r.add_put("/api/settings/handoff", put_handoff_settings)
