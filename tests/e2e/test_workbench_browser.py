"""The trainer workbench in a real Chromium: the review inbox, the intents editor, training, comparing
and activating models, and the handoff settings — driven through the console's own screens and keys.

A live Baton with its own copy of data/ and its own engine (models are swapped here), real customers
over the REST channel, and a real (fast-config) training run. The API-level twins of these checks live
in test_trainer_workbench.py.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any, Dict, List

import pytest
from playwright.async_api import Page, expect

from bot.training_data.examples import read_block
from tests.e2e.conftest import CONSOLE_UI_MS as UI
from tests.support import VIEWPORT, LiveServer, api, http_session, logged_in, rest, screenshot_path

pytestmark = pytest.mark.browser

TRAINING_MS = 600_000   # a fast-config training run plus its evaluation, on a busy two-core machine


@pytest.fixture(autouse=True)
def patient_expectations():
    """Edits re-read the Rasa files (a second or two each on a busy machine): wait like the console does."""
    expect.set_options(timeout=UI)
    yield
    expect.set_options(timeout=5_000)


# ---- helpers ----------------------------------------------------------------------------

def examples_of(server: LiveServer, intent: str) -> List[str]:
    """The example lines of one intent, as written in the server's data/nlu.yml."""
    from ruamel.yaml import YAML

    document = YAML(typ="safe").load((Path(server.settings.data_dir) / "nlu.yml").read_text())
    return [line for entry in document["nlu"] if entry.get("intent") == intent
            for line in read_block(entry.get("examples", ""))]


async def say(server: LiveServer, text: str) -> List[Dict[str, Any]]:
    async with http_session() as http:
        return await rest(http, server, f"wb-{uuid.uuid4().hex[:8]}", text)


async def as_admin(server: LiveServer, path: str, method: str = "GET", **kwargs: Any):
    async with http_session() as http:
        return await api(http, server, path, method, **kwargs)


async def review_item_of(server: LiveServer, text: str) -> Dict[str, Any]:
    status, inbox = await as_admin(server, "/api/review?status=all&limit=500")
    assert status == 200, inbox
    return next(i for i in inbox["items"] if i["text"] == text)


async def customer_message_id(server: LiveServer, text: str) -> int:
    messages = await server.acall(server.services.store.conversations.messages_after(0, 100_000))
    return [m.id for m in messages if m.as_json()["sender"] == "customer" and m.text == text][-1]


def item_by_id(page: Page, message_id: int):
    return page.locator(f'[data-testid="review-item"][data-message-id="{message_id}"]')


def no_errors(page: Page) -> None:
    """No script error; the only console errors allowed are the browser's notes on the refusals the test provoked."""
    assert page.page_errors == []  # type: ignore[attr-defined]
    refusals = re.compile(r"Failed to load resource: the server responded with a status of (409|422)")
    assert [e for e in page.console_errors if not refusals.search(e)] == []  # type: ignore[attr-defined]


async def wait_until_trained(page: Page, model_id: int) -> None:
    row = page.locator(f'[data-testid="model-row"][data-model-id="{model_id}"]')
    await expect(row).to_have_attribute("data-status", "ready", timeout=TRAINING_MS)
    await expect(page.get_by_test_id("training-bar")).to_have_attribute("data-stage", "done", timeout=UI)


async def train_in_console(page: Page) -> int:
    """Start a fast training run from the Models screen; return the new model's id once it shows progress."""
    await page.get_by_test_id("train-config").select_option("config-fast.yml")
    async with page.expect_response(lambda r: r.url.endswith("/api/models/train")) as answer:
        await page.get_by_test_id("train-start").click()
    model_id = (await (await answer.value).json())["model"]["id"]
    await expect(page.get_by_test_id("training-progress")).to_be_visible()
    await expect(page.get_by_test_id("training-stage")).to_contain_text(f"Model #{model_id}:")
    await expect(page.get_by_test_id("train-start")).to_be_disabled()
    return model_id


def without_every_third_example(nlu_text: str) -> str:
    """nlu.yml with every third example of each intent left out (entities, synonyms and the rest kept)."""
    out, in_intent, count = [], False, 0
    for line in nlu_text.splitlines(keepends=True):
        if line.startswith("- "):
            in_intent, count = line.startswith("- intent:"), 0
        elif in_intent and line.startswith("    - "):
            count += 1
            if count % 3 == 0:
                continue
        out.append(line)
    return "".join(out)


async def ensure_evaluated_model(server: LiveServer) -> Dict[str, Any]:
    """A finished, evaluated model (trained through the API when no earlier test left one)."""
    status, listing = await as_admin(server, "/api/models")
    for version in listing["models"]:
        if version["status"] == "ready":
            status, detail = await as_admin(server, f"/api/models/{version['id']}")
            if (detail["model"]["evaluation"] or {}).get("curve"):
                return detail["model"]
    status, started = await as_admin(server, "/api/models/train", "POST", json={"config": "config-fast.yml"})
    assert status == 202, started
    for _ in range(600):
        status, detail = await as_admin(server, f"/api/models/{started['model']['id']}")
        if detail["model"]["status"] != "training":
            break
        await asyncio.sleep(1)
    assert detail["model"]["status"] == "ready" and detail["model"]["evaluation"]["curve"], detail
    return detail["model"]


# ---- the review inbox -------------------------------------------------------------------

async def test_a_trainer_confirms_and_relabels_inbox_messages(workbench, consoles):
    human, typo = "could a real human being help me", "hwere iz my pakage 55555"
    await say(workbench, human)     # the bot hands off: the customer asked for a person
    await say(workbench, typo)      # the bot asks to rephrase
    first, second = await review_item_of(workbench, human), await review_item_of(workbench, typo)

    page = await consoles(workbench, "trainer")
    await expect(page.get_by_test_id("view-review")).to_be_visible()
    asked = item_by_id(page, first["message_id"])
    await expect(asked.get_by_test_id("review-text")).to_have_text(human)
    await expect(asked.get_by_test_id("review-reason")).to_have_text("Customer asked for a human")
    await expect(asked.get_by_test_id("top-intent")).to_have_count(3)
    await expect(asked.get_by_test_id("top-intent").first).to_have_attribute("data-intent", "request_human")
    await expect(asked.get_by_test_id("review-open-conversation")).to_have_text(
        f"Open conversation #{first['conversation_id']}")
    await expect(page.locator('[data-testid="reason-count"][data-reason="rephrase"]')).to_contain_text("1")

    # A message arrives while the trainer works: it shows up without a reload, personal data masked.
    invoice = "pls send the invoice to jo@example.org zzkv"
    await say(workbench, invoice)
    third = await review_item_of(workbench, invoice)
    arrived = item_by_id(page, third["message_id"])
    await expect(arrived.get_by_test_id("review-text")).to_have_text(invoice, timeout=UI)
    await expect(page.get_by_test_id("review-notice")).to_contain_text("New message to review")

    # c: the bot was right. The message becomes an example of its intent.
    await asked.get_by_test_id("review-text").click()
    await page.keyboard.press("c")
    await expect(asked).to_have_count(0)
    await expect(page.get_by_test_id("review-notice")).to_contain_text("confirmed as request_human")
    assert human in examples_of(workbench, "request_human")

    # The typo: the suggested example already tags the order number; the trainer removes the tag,
    # tags it again by selecting the words, then relabels with the keyboard and the intent picker.
    typo_item = item_by_id(page, second["message_id"])
    await typo_item.get_by_test_id("review-text").click()
    editor = typo_item.get_by_test_id("example-editor")
    await expect(editor.get_by_test_id("example-annotated")).to_have_text("hwere iz my pakage [55555](order_id)")
    await editor.get_by_test_id("example-entity").get_by_role("button").click()
    await expect(editor.get_by_test_id("example-annotated")).to_have_text("hwere iz my pakage 55555")
    await editor.get_by_test_id("example-input").evaluate(
        "(input) => { const at = input.value.indexOf('55555'); input.focus(); input.setSelectionRange(at, at + 5); }")
    await expect(editor.get_by_test_id("entity-hint")).to_have_text("Selected: “55555”")
    await editor.get_by_test_id("entity-select").select_option("order_id")
    await editor.get_by_test_id("entity-tag").click()
    await expect(editor.get_by_test_id("example-annotated")).to_have_text("hwere iz my pakage [55555](order_id)")
    await page.keyboard.press("Escape")        # leave the text field; the inbox's keys work again
    await page.keyboard.press("l")
    picker = page.get_by_test_id("intent-picker")
    await expect(picker).to_be_visible()
    assert "session_start" not in await picker.get_by_test_id("intent-option").all_text_contents()
    await picker.get_by_test_id("intent-picker-search").fill("track")
    await expect(picker.get_by_test_id("intent-option").first).to_have_text("track_shipment")
    await page.keyboard.press("Enter")
    await expect(typo_item).to_have_count(0)
    await expect(page.get_by_test_id("review-notice")).to_contain_text("labelled track_shipment")
    assert "hwere iz my pakage [55555](order_id)" in examples_of(workbench, "track_shipment")

    # o: out of scope — the masked text is what becomes training data.
    await arrived.get_by_test_id("review-text").click()
    await expect(arrived.get_by_test_id("review-masked")).to_contain_text("jo@example.org")
    await expect(arrived.get_by_test_id("review-confirm")).to_be_disabled()  # the bot had no usable guess
    await page.keyboard.press("o")
    await expect(arrived).to_have_count(0)
    assert "pls send the invoice to name@example.com zzkv" in examples_of(workbench, "out_of_scope")
    assert "jo@example.org" not in (Path(workbench.settings.data_dir) / "nlu.yml").read_text()

    # Search, then a selection of similar messages dismissed in one go.
    noise = ["zzkv qqq rrr", "zzkv qqq sss", "flurb wexing 77"]
    for text in noise:
        await say(workbench, text)
    for text in noise:
        await expect(page.get_by_test_id("review-item").filter(has_text=text)).to_have_count(1, timeout=UI)
    await page.keyboard.press("/")
    await page.get_by_test_id("review-search").fill("qqq")
    await expect(page.get_by_test_id("review-item")).to_have_count(2)
    await page.get_by_test_id("review-search").fill("")
    await expect(page.get_by_test_id("review-item").filter(has_text="flurb")).to_have_count(1)
    await page.get_by_test_id("review-item").filter(has_text="zzkv qqq rrr").get_by_test_id("review-text").click()
    await page.keyboard.press("s")
    await expect(page.get_by_test_id("review-selected-count")).to_have_text("3 selected")
    await page.keyboard.press("d")
    for text in noise:
        await expect(page.get_by_test_id("review-item").filter(has_text=text)).to_have_count(0)
    await expect(page.get_by_test_id("review-bulk")).to_be_hidden()
    status, done = await as_admin(workbench, "/api/review?status=done&q=zzkv")
    assert {i["status"] for i in done["items"]} == {"dismissed", "out_of_scope"}, done

    # An agent labels a message the bot answered confidently: it enters the inbox, live, with the label.
    answered = "my parcel 55555 never showed up"
    await say(workbench, answered)
    message_id = await customer_message_id(workbench, answered)
    async with http_session() as http:
        token, _ = await logged_in(workbench, "agent")
        http.cookie_jar.update_cookies({"baton_session": token})
        async with http.post(f"{workbench.url}/api/messages/{message_id}/label", json={"intent": "track_shipment"}) as r:
            assert r.status == 200, await r.text()
    labelled = item_by_id(page, message_id)
    await expect(labelled.get_by_test_id("review-reason")).to_have_text("Labelled by an agent")
    await expect(labelled.get_by_test_id("review-label")).to_contain_text("Label: track_shipment")
    no_errors(page)


# ---- the intents editor -----------------------------------------------------------------

async def test_a_trainer_edits_an_intent(workbench, consoles):
    page = await consoles(workbench, "trainer")
    await page.get_by_test_id("nav-intents").click()
    await page.get_by_test_id("intent-filter").fill("greet")
    await page.locator('[data-testid="intent-row"][data-intent="greet"]').click()
    detail = page.get_by_test_id("intent-detail")
    await expect(detail.get_by_test_id("intent-title")).to_have_text("greet")
    count_before = len(examples_of(workbench, "greet"))

    # Add an example: it is in data/nlu.yml at once, and the count follows.
    await detail.get_by_test_id("add-examples").fill("howdy partner")
    await detail.get_by_test_id("add-examples-submit").click()
    await expect(page.get_by_test_id("intents-notice")).to_have_text("Added 1 example to greet.")
    assert examples_of(workbench, "greet")[-1] == "howdy partner"
    await expect(page.locator('[data-testid="intent-row"][data-intent="greet"]').get_by_test_id("intent-count")).to_have_text(
        str(count_before + 1))

    # Edit it, then move it to another intent through the searchable picker.
    row = detail.locator('[data-testid="example-row"][data-text="howdy partner"]')
    await row.get_by_test_id("example-edit").click()
    await detail.get_by_test_id("example-input").fill("howdy there partner")
    await detail.get_by_test_id("example-save").click()
    await expect(page.get_by_test_id("intents-notice")).to_have_text("Saved “howdy there partner”.")
    assert "howdy there partner" in examples_of(workbench, "greet") and "howdy partner" not in examples_of(workbench, "greet")
    await detail.locator('[data-testid="example-row"][data-text="howdy there partner"]').get_by_test_id("example-move").click()
    await page.get_by_test_id("intent-picker-search").fill("goodb")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("intents-notice")).to_have_text("Moved “howdy there partner” to goodbye.")
    assert "howdy there partner" in examples_of(workbench, "goodbye")

    # The bot's answer is editable too.
    greeting = detail.locator('[data-testid="response-form"]').first
    response_name = await greeting.get_attribute("data-response")
    await greeting.get_by_test_id("response-text").first.fill("Hello from the workbench! How can I help?")
    await greeting.get_by_test_id("response-save").click()
    await expect(page.get_by_test_id("intents-notice")).to_have_text(f"Saved {response_name}.")
    assert "Hello from the workbench! How can I help?" in (Path(workbench.settings.data_dir) / "domain.yml").read_text()

    # A new intent: the server's refusal is shown as it is; a good one is added with its answer rule.
    form = page.get_by_test_id("intent-new-form")
    await form.get_by_test_id("intent-new-name").fill("gift cards")
    await form.get_by_test_id("intent-new-submit").click()
    await expect(page.get_by_test_id("intents-error")).to_contain_text("no spaces")
    await form.get_by_test_id("intent-new-name").fill("gift_cards")
    await form.get_by_test_id("intent-new-examples").fill("do you sell gift cards\ncan I buy a gift card\n"
                                                          "gift voucher please\nis there a gift certificate\n"
                                                          "buy a voucher for a friend")
    await form.get_by_test_id("intent-new-response").fill("Yes! Gift cards are sold in any amount from $10.")
    await form.get_by_test_id("intent-new-submit").click()
    await expect(detail.get_by_test_id("intent-title")).to_have_text("gift_cards")
    await expect(detail.get_by_test_id("example-row")).to_have_count(5)
    assert "answer gift_cards" in (Path(workbench.settings.data_dir) / "rules.yml").read_text()

    # Another trainer saves first: this one is told what changed, reloads, and applies the edit again.
    status, other = await as_admin(workbench, "/api/training/intents/gift_cards/examples", "POST",
                                   json={"examples": ["gift card balance"]})
    assert status == 200, other
    await detail.get_by_test_id("add-examples").fill("e-gift card")
    await detail.get_by_test_id("add-examples-submit").click()
    conflict = page.get_by_test_id("version-conflict")
    await expect(conflict).to_be_visible()
    await expect(conflict.get_by_test_id("conflict-changes")).to_contain_text("gift_cards: 1 example added (5 → 6)")
    await expect(conflict.get_by_test_id("conflict-changes")).to_contain_text("gift_cards gained “gift card balance”")
    assert "e-gift card" not in examples_of(workbench, "gift_cards")
    await conflict.get_by_test_id("conflict-reload").click()
    await expect(conflict).to_have_count(0)
    await expect(detail.get_by_test_id("example-row")).to_have_count(6)
    await expect(detail.get_by_test_id("add-examples")).to_have_value("e-gift card")   # nothing typed is lost
    await detail.get_by_test_id("add-examples-submit").click()
    await expect(page.get_by_test_id("intents-notice")).to_have_text("Added 1 example to gift_cards.")
    assert examples_of(workbench, "gift_cards")[-2:] == ["gift card balance", "e-gift card"]

    # Rename it (its answer rule follows), check the data, then search across intents.
    await detail.get_by_test_id("rename-input").fill("gift_card")
    await detail.get_by_test_id("rename-submit").click()
    await expect(page.get_by_test_id("intents-notice")).to_contain_text("Renamed gift_cards to gift_card")
    await expect(detail.get_by_test_id("intent-title")).to_have_text("gift_card")
    assert "answer gift_card\n" in (Path(workbench.settings.data_dir) / "rules.yml").read_text()
    await page.get_by_test_id("intents-validate").click()
    await expect(page.get_by_test_id("validation-summary")).to_be_visible()
    await page.get_by_test_id("example-search").fill("voucher")
    await page.get_by_test_id("example-search-submit").click()
    await expect(page.locator('[data-testid="search-hit"][data-intent="gift_card"]')).to_have_count(2)

    # Delete it, after a confirmation.
    await detail.get_by_test_id("intent-delete").click()
    await page.get_by_test_id("confirm-ok").click()
    await expect(page.get_by_test_id("intents-notice")).to_contain_text("Deleted gift_card")
    await expect(page.locator('[data-testid="intent-row"][data-intent="gift_card"]')).to_have_count(0)
    assert examples_of(workbench, "gift_card") == []
    no_errors(page)


# ---- models -----------------------------------------------------------------------------

async def test_training_comparing_and_activating_models(workbench, consoles):
    page = await consoles(workbench, "trainer")
    await page.get_by_test_id("nav-models").click()

    # A first model, with live progress from the training run (every text the progress line shows is kept).
    await page.evaluate("""() => {
        window.stagesSeen = [];
        const node = document.querySelector('[data-testid="training-stage"]');
        new MutationObserver(() => window.stagesSeen.push(node.textContent)).observe(node, {childList: true, characterData: true, subtree: true});
    }""")
    # The first model learns from a third fewer examples (the data file as it was a while ago); the
    # run trains a snapshot, so the full file is back as soon as it has started.
    nlu = Path(workbench.settings.data_dir) / "nlu.yml"
    full = nlu.read_text()
    nlu.write_text(without_every_third_example(full))
    try:
        first = await train_in_console(page)
    finally:
        nlu.write_text(full)
    await wait_until_trained(page, first)
    await expect(page.locator(f'[data-testid="model-row"][data-model-id="{first}"] code')).to_have_text("config-fast.yml")
    stages = await page.evaluate("() => window.stagesSeen")
    assert any("Training · component" in s for s in stages), stages
    assert any("Evaluating on the test set" in s for s in stages), stages
    await expect(page.get_by_test_id("models-notice")).to_contain_text(f"Model #{first} is trained and evaluated")

    # The data is complete again and grows an intent; a second model learns it.
    status, made = await as_admin(workbench, "/api/training/intents", "POST", json={
        "name": "loyalty_points", "response": "You earn one loyalty point per dollar; 100 points take $5 off.",
        "examples": ["how do loyalty points work", "how many loyalty points do I have", "can I use my points",
                     "what are reward points", "do I earn points on purchases", "loyalty program"]})
    assert status == 200, made
    second = await train_in_console(page)
    await wait_until_trained(page, second)

    # Side by side: the figures with their change, both curves, F1 per intent, each model's histogram.
    compare = page.get_by_test_id("model-compare")
    await page.get_by_test_id("compare-a").select_option(str(first))
    await page.get_by_test_id("compare-b").select_option(str(second))
    figures = compare.get_by_test_id("compare-figures")
    await expect(figures.locator("thead th")).to_have_text(["On the test set", f"#{first}", f"#{second}", "change"])
    await expect(figures.get_by_test_id("figure-change")).to_have_count(4)
    before_after = [(await as_admin(workbench, f"/api/models/{m}"))[1]["model"]["evaluation"]["overall"] for m in (first, second)]
    delta = before_after[1]["automation"] - before_after[0]["automation"]
    change = figures.locator('tr[data-figure="automation"] [data-testid="figure-change"]')
    await expect(change).to_have_text(f"{'+' if delta >= 0 else '−'}{abs(delta) * 100:.1f} pts")
    if abs(delta) >= 0.0005:
        await expect(change).to_have_class(re.compile("delta-better" if delta > 0 else "delta-worse"))
    await expect(compare.get_by_test_id("chart-curve").locator("polyline")).to_have_count(4)
    await expect(compare.get_by_test_id("chart-f1").locator("rect[data-intent='order_status']")).to_have_count(2)
    await expect(compare.get_by_test_id("chart-histogram")).to_have_count(2)
    status, detail = await as_admin(workbench, f"/api/models/{second}")
    automation = detail["model"]["evaluation"]["overall"]["automation"]
    await expect(page.locator(f'[data-testid="model-row"][data-model-id="{second}"] [data-figure="automation"]')).to_have_text(
        f"{automation * 100:.1f}%")
    # The picture for the README: tall enough that the whole comparison is on screen.
    await page.set_viewport_size({"width": 1280, "height": 1700})
    await compare.scroll_into_view_if_needed()
    await compare.screenshot(path=str(screenshot_path("workbench.png")), animations="disabled")
    await page.set_viewport_size(VIEWPORT)

    # Before: the serving model has never heard of loyalty points.
    assert not any("loyalty point" in r.get("text", "") for r in await say(workbench, "how do loyalty points work"))

    # Activate the second model after a confirmation; the next customer is answered by it.
    row = page.locator(f'[data-testid="model-row"][data-model-id="{second}"]')
    await row.get_by_test_id("model-activate").click()
    await expect(page.get_by_test_id("confirm-dialog")).to_contain_text(f"Activate model #{second}?")
    await page.get_by_test_id("confirm-ok").click()
    await expect(row.get_by_test_id("model-status")).to_have_text("active", timeout=120_000)
    await expect(page.get_by_test_id("models-notice")).to_have_text(f"Model #{second} is now answering customers.")
    assert workbench.services.engine.model_path.name == detail["model"]["file"]
    replies = await say(workbench, "how do loyalty points work")
    assert any("one loyalty point per dollar" in r.get("text", "") for r in replies), replies

    # Roll back to the first one: loyalty points are unknown again.
    older = page.locator(f'[data-testid="model-row"][data-model-id="{first}"]')
    await expect(older.get_by_test_id("model-activate")).to_have_text(f"Roll back to #{first}")
    await older.get_by_test_id("model-activate").click()
    await page.get_by_test_id("confirm-ok").click()
    await expect(older.get_by_test_id("model-status")).to_have_text("active", timeout=120_000)
    assert not any("loyalty point" in r.get("text", "") for r in await say(workbench, "how do loyalty points work"))

    # A run can be cancelled half-way; it leaves no model to activate.
    third = await train_in_console(page)
    await page.get_by_test_id("train-cancel").click()
    await expect(page.get_by_test_id("training-stage")).to_contain_text(f"Model #{third}: Cancelled", timeout=60_000)
    cancelled = page.locator(f'[data-testid="model-row"][data-model-id="{third}"]')
    await expect(cancelled).to_have_attribute("data-status", "cancelled", timeout=60_000)
    await expect(cancelled.get_by_test_id("model-activate")).to_have_count(0)
    await expect(page.get_by_test_id("train-start")).to_be_enabled()

    # Data that would train something wrong is refused before a run starts, with the problems listed.
    status, tiny = await as_admin(workbench, "/api/training/intents", "POST", json={"name": "tiny_intent", "examples": []})
    assert status == 200, tiny
    try:
        await page.get_by_test_id("train-start").click()
        await expect(page.get_by_test_id("models-error")).to_contain_text("fix the training data first")
        await expect(page.get_by_test_id("train-problem").filter(has_text="tiny_intent")).to_have_count(1)
    finally:
        await as_admin(workbench, "/api/training/intents/tiny_intent", "DELETE", json={})

    # A corrupt model file is refused with the reason; the rolled-back model keeps serving.
    broken = Path(workbench.settings.models_dir) / "broken.tar.gz"
    broken.write_bytes(b"not a model")
    version = await workbench.acall(workbench.services.store.models.create(str(broken), "config-fast.yml", None, None,
                                                                           status="ready"))
    await page.get_by_test_id("nav-review").click()
    await page.get_by_test_id("nav-models").click()
    await page.locator(f'[data-testid="model-row"][data-model-id="{version.id}"]').get_by_test_id("model-activate").click()
    await page.get_by_test_id("confirm-ok").click()
    await expect(page.get_by_test_id("models-error")).to_contain_text("could not be loaded, so the current one keeps serving")
    await expect(older.get_by_test_id("model-status")).to_have_text("active")
    no_errors(page)


# ---- bot settings -----------------------------------------------------------------------

async def test_handoff_settings_picked_on_the_curve_apply_live(workbench, consoles):
    model = await ensure_evaluated_model(workbench)
    page = await consoles(workbench, "trainer")
    await page.get_by_test_id("nav-settings").click()
    await expect(page.get_by_test_id("settings-curve-chart")).to_be_visible()
    before = workbench.services.flow.policy.config
    threshold = page.get_by_test_id("setting-threshold")
    await expect(threshold).to_have_value(str(before.confidence_threshold))

    # A target wrong-answer rate picks the threshold that answers the most within it: the same rule
    # as the server's evaluation, which picked one for 2%.
    status, listing = await as_admin(workbench, "/api/models")
    active = next((m for m in listing["models"] if m["active"]), None)
    shown = (await as_admin(workbench, f"/api/models/{active['id']}"))[1]["model"] if active else model
    chosen = shown["evaluation"]["chosen"]
    assert chosen["target_wrong_answer"] == 0.02 and chosen["threshold"] is not None, chosen
    await threshold.fill("0.77")
    await page.get_by_test_id("target-wrong").fill("2")
    await page.get_by_test_id("target-pick").click()
    await expect(page.get_by_test_id("pick-result")).to_contain_text(f"At threshold {chosen['threshold']:.2f}")
    assert float(await threshold.input_value()) == chosen["threshold"]

    # A click on the curve picks the measured threshold nearest to it.
    chart = page.get_by_test_id("settings-curve-chart-pick")
    box = await chart.bounding_box()
    await page.mouse.click(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)
    await expect(threshold).to_have_value("0.9")

    # Save: applied to the next message, no restart. A keyword now hands off at once.
    await threshold.fill("0.3")
    await page.get_by_test_id("setting-keywords").fill("chargeback\nlawyer\nblorpfund")
    try:
        await page.get_by_test_id("settings-save").click()
        await expect(page.get_by_test_id("settings-notice")).to_contain_text("the bot uses them from the next message")
        assert workbench.services.flow.policy.config.confidence_threshold == 0.3
        replies = await say(workbench, "I want a blorpfund for my order")
        assert any("queue" in r.get("text", "") for r in replies), replies
        status, review = await as_admin(workbench, "/api/review?reason=business_rule")
        assert any(i["text"] == "I want a blorpfund for my order" for i in review["items"])
        await expect(page.get_by_test_id("settings-overridden")).to_contain_text("confidence_threshold")
        no_errors(page)
    finally:
        await as_admin(workbench, "/api/settings/handoff", "PUT", json={
            "confidence_threshold": before.confidence_threshold,
            "business_rule_keywords": list(before.business_rule_keywords)})


# ---- roles ------------------------------------------------------------------------------

async def test_an_agent_cannot_see_the_workbench(workbench, consoles):
    page = await consoles(workbench, "agent")
    for tab in ("nav-review", "nav-intents", "nav-models", "nav-settings"):
        await expect(page.get_by_test_id(tab)).to_be_hidden()
    for view in ("view-review", "view-intents", "view-models", "view-settings"):
        await expect(page.get_by_test_id(view)).to_be_hidden()
    # A miss the bot sends to the trainers reaches every console's socket; the agent's shows nothing of it.
    await say(workbench, "qwxz plorb nonsense for trainers")
    await expect(page.get_by_test_id("queue-list")).to_be_visible()
    await workbench.settled()
    await expect(page.get_by_test_id("review-item")).to_have_count(0)
    no_errors(page)
    # And the server refuses the workbench's data to an agent whatever the page does.
    answers = await page.evaluate("""async () => Promise.all(['/api/review', '/api/training/intents', '/api/models',
        '/api/settings/handoff'].map(async (path) => (await fetch(path)).status))""")
    assert answers == [403, 403, 403, 403]
