"""The trainer workbench end to end: a real miss reaches the inbox, becomes training data, a real model
is trained with live progress, activated without a restart under a stream of messages, and rolled back."""

from __future__ import annotations

import asyncio
import difflib
import uuid

from tests.support import AgentClient, http_session, logged_in, rest


async def as_role(server, role):
    token, user_id = await logged_in(server, role)
    http = http_session()
    http.cookie_jar.update_cookies({"baton_session": token})
    return http


async def call(http, server, method, path, **kwargs):
    async with http.request(method, f"{server.url}{path}", **kwargs) as response:
        return response.status, await response.json()


async def test_a_real_miss_becomes_an_example_with_a_one_line_diff(workbench):
    trainer = await as_role(workbench, "trainer")
    try:
        who = f"miss-{uuid.uuid4().hex[:6]}"
        async with http_session() as http:
            await rest(http, workbench, who, "I want to talk to a person")
        status, inbox = await call(trainer, workbench, "GET", "/api/review?reason=human_requested")
        item = next(i for i in inbox["items"] if i["text"] == "I want to talk to a person")
        assert item["reason"] == "human_requested" and item["predicted"] == "request_human"
        assert len(item["top_intents"]) <= 3 and item["conversation_id"]
        before = (workbench.settings.data_dir / "nlu.yml").read_text()
        status, done = await call(trainer, workbench, "POST", "/api/review/act", json={
            "message_ids": [item["message_id"]], "action": "relabel", "intent": "complaint",
            "example": "I want to talk to a person right now", "version": inbox["version"]})
        assert status == 200 and done["status"] == "relabelled", done
        after = (workbench.settings.data_dir / "nlu.yml").read_text()
        changed = [l for l in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
                   if l[:1] in "+-" and not l.startswith(("+++", "---"))]
        assert changed == ["+    - I want to talk to a person right now"]
        status, open_items = await call(trainer, workbench, "GET", "/api/review")
        assert item["message_id"] not in [i["message_id"] for i in open_items["items"]]
        # The same version again is stale now: a conflict, not a silent overwrite.
        status, stale = await call(trainer, workbench, "POST", "/api/training/intents/greet/examples",
                                   json={"examples": ["good day"], "version": inbox["version"]})
        assert status == 409 and stale["error"] == "version_conflict" and stale["version"] == done["version"]
    finally:
        await trainer.close()


async def test_personal_data_is_masked_before_it_becomes_an_example(workbench):
    trainer = await as_role(workbench, "trainer")
    try:
        async with http_session() as http:
            for text in ("blorptastic frobnication", "my email is jo@example.org zzkv"):
                await rest(http, workbench, f"pii-{uuid.uuid4().hex[:6]}", text)
        status, inbox = await call(trainer, workbench, "GET", "/api/review?q=jo@example.org")
        [item] = inbox["items"]
        assert item["example"] == "my email is name@example.com zzkv"
        assert item["masked"] == [{"kind": "email", "original": "jo@example.org", "replacement": "name@example.com"}]
        status, done = await call(trainer, workbench, "POST", "/api/review/act",
                                  json={"message_ids": [item["message_id"]], "action": "out_of_scope"})
        assert status == 200 and done["added"] == ["my email is name@example.com zzkv"]
        assert "jo@example.org" not in (workbench.settings.data_dir / "nlu.yml").read_text()
    finally:
        await trainer.close()


async def test_agents_cannot_change_the_bot(workbench):
    agent = await as_role(workbench, "agent")
    try:
        for method, path, body in [("GET", "/api/review", None), ("POST", "/api/review/act", {"message_ids": [1],
                                    "action": "dismiss"}), ("GET", "/api/training/intents", None),
                                   ("POST", "/api/training/intents", {"name": "x_y", "examples": []}),
                                   ("POST", "/api/models/train", {}), ("POST", "/api/models/1/activate", None),
                                   ("PUT", "/api/settings/handoff", {"confidence_threshold": 0.1})]:
            status, answer = await call(agent, workbench, method, path, json=body)
            assert status == 403 and answer["error"] == "forbidden", (path, answer)
    finally:
        await agent.close()


async def test_intent_editing_round_trips_and_bad_edits_are_explained(workbench):
    trainer = await as_role(workbench, "trainer")
    try:
        status, listing = await call(trainer, workbench, "GET", "/api/training/intents")
        version = listing["version"]
        status, made = await call(trainer, workbench, "POST", "/api/training/intents", json={
            "name": "gift_cards", "examples": ["do you sell gift cards", "can I buy a gift card",
                                               "gift voucher please", "is there a gift certificate",
                                               "buy a voucher for a friend"],
            "response": "Yes! Gift cards are sold in any amount from $10.", "version": version})
        assert status == 200, made
        status, examples = await call(trainer, workbench, "GET", "/api/training/intents/gift_cards/examples")
        assert [e["text"] for e in examples["examples"]][:2] == ["do you sell gift cards", "can I buy a gift card"]
        status, renamed = await call(trainer, workbench, "PATCH", "/api/training/intents/gift_cards",
                                     json={"name": "gift_card", "version": made["version"]})
        assert status == 200 and "rules.yml" in renamed["updated"]
        for body, why in [({"name": "has space"}, "no spaces"), ({"name": "nlu_fallback"}, "reserved"),
                          ({"name": "gift_card"}, "already an intent")]:
            status, refused = await call(trainer, workbench, "POST", "/api/training/intents", json=body)
            assert status in (409, 422) and why in refused["message"], refused
        status, long = await call(trainer, workbench, "POST", "/api/training/intents/gift_card/examples",
                                  json={"examples": ["x" * 501]})
        assert status == 422
        status, checked = await call(trainer, workbench, "GET", "/api/training/validate")
        assert status == 200 and isinstance(checked["problems"], list)
        status, gone = await call(trainer, workbench, "DELETE", "/api/training/intents/gift_card", json={})
        assert status == 200 and gone["removed_rules"] == ["rules.yml: answer gift_card"]
    finally:
        await trainer.close()


async def test_handoff_settings_apply_live(workbench):
    trainer = await as_role(workbench, "trainer")
    try:
        async with http_session() as http:
            before = await rest(http, workbench, f"live-{uuid.uuid4().hex[:6]}", "where is my order 12345?")
        assert any("12345" in r.get("text", "") for r in before)
        status, changed = await call(trainer, workbench, "PUT", "/api/settings/handoff",
                                     json={"confidence_threshold": 1.0})
        assert status == 200 and changed["settings"]["confidence_threshold"] == 1.0
        async with http_session() as http:
            after = await rest(http, workbench, f"live-{uuid.uuid4().hex[:6]}", "where is my order 12345?")
        assert not any("12345" in r.get("text", "") for r in after), after   # now a miss: asked to rephrase
        status, bad = await call(trainer, workbench, "PUT", "/api/settings/handoff", json={"confidence_threshold": 7})
        assert status == 422 and "between 0 and 1" in bad["message"]
    finally:
        await call(trainer, workbench, "PUT", "/api/settings/handoff",
                   json={"confidence_threshold": workbench.settings.confidence_threshold})
        await trainer.close()


async def test_train_activate_under_load_and_roll_back(workbench):
    token, _ = await logged_in(workbench, "trainer")
    trainer = await as_role(workbench, "trainer")
    watcher = await AgentClient(workbench, token).connect()
    try:
        status, started = await call(trainer, workbench, "POST", "/api/models/train", json={"config": "config-fast.yml"})
        assert status == 202, started
        model_id = started["model"]["id"]
        status, busy = await call(trainer, workbench, "POST", "/api/models/train", json={"config": "config-fast.yml"})
        assert status == 409
        progress = await watcher.wait_for("model", lambda d: (d.get("training") or {}).get("components_total"), 240)
        assert progress["training"]["model_id"] == model_id and progress["training"]["stage"] == "training"
        finished = await watcher.wait_for("model", lambda d: (d.get("training") or {}).get("stage") in (
            "done", "failed"), 600)
        assert finished["training"]["stage"] == "done", finished
        status, listing = await call(trainer, workbench, "GET", "/api/models")
        assert listing["models"][0]["id"] == model_id and listing["models"][0]["status"] == "ready"
        status, detail = await call(trainer, workbench, "GET", f"/api/models/{model_id}")
        evaluation = detail["model"]["evaluation"]
        assert evaluation["test_set"]["out_of_scope"] > 0 and 0 < evaluation["overall"]["automation"] <= 1
        assert evaluation["curve"] and evaluation["intents"] and sum(evaluation["histogram"]["correct"]) > 0

        # Activate while customers keep writing: every message is answered, none lost.
        async def customer(i):
            async with http_session() as http:
                return await rest(http, workbench, f"swap-{i}-{uuid.uuid4().hex[:4]}", "hi")

        stream = [asyncio.ensure_future(customer(i)) for i in range(12)]
        await asyncio.sleep(0.2)
        status, activated = await call(trainer, workbench, "POST", f"/api/models/{model_id}/activate")
        stream += [asyncio.ensure_future(customer(i)) for i in range(12, 24)]
        answers = await asyncio.gather(*stream)
        assert status == 200 and activated["model"]["active"] is True, activated
        assert all(a and a[0].get("text") for a in answers), answers
        assert workbench.services.engine.model_path.name == activated["model"]["file"]

        # A broken model file is refused; the active one keeps serving.
        broken = workbench.settings.models_dir / "broken.tar.gz"
        broken.write_bytes(b"not a model")
        version = await workbench.acall(workbench.services.store.models.create(str(broken), "config-fast.yml", None,
                                                                               None, status="ready"))
        status, refused = await call(trainer, workbench, "POST", f"/api/models/{version.id}/activate")
        assert status == 422 and "could not be loaded" in refused["message"]
        assert workbench.services.engine.model_path.name == activated["model"]["file"]
        async with http_session() as http:
            assert (await rest(http, workbench, f"after-{uuid.uuid4().hex[:4]}", "hi"))[0]["text"]
    finally:
        await watcher.close()
        await trainer.close()
