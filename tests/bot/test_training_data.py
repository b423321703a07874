"""Editing the Rasa project: round trips with minimal diffs, version conflicts, validation, PII masking."""

from __future__ import annotations

import difflib
import shutil

import pytest

from bot.settings import PROJECT_ROOT
from bot.training_data.examples import Span, annotate, parse
from bot.training_data.pii import mask
from bot.training_data.project import ProjectError, RasaProject, VersionConflict
from bot.training_data.validation import validate


@pytest.fixture
def project(tmp_path) -> RasaProject:
    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data)
    return RasaProject(data)


def changed_lines(before: str, after: str):
    return [l for l in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if l[:1] in "+-" and not l.startswith(("+++", "---"))]


def test_adding_an_example_changes_one_line(project):
    before = (project.data_dir / "nlu.yml").read_text()
    project.add_examples("track_shipment", ["where has my [54321](order_id) parcel got to"], project.version())
    after = (project.data_dir / "nlu.yml").read_text()
    assert changed_lines(before, after) == ["+    - where has my [54321](order_id) parcel got to"]
    example = project.examples("track_shipment")["examples"][-1]
    assert example["text"] == "where has my 54321 parcel got to"
    assert example["entities"] == [{"start": 13, "end": 18, "entity": "order_id"}]


def test_a_stale_version_is_a_conflict_and_nothing_is_lost(project):
    seen = project.version()
    project.add_examples("greet", ["good day to you"], seen)
    with pytest.raises(VersionConflict) as conflict:
        project.add_examples("greet", ["salutations"], seen)
    assert conflict.value.status == 409 and conflict.value.current == project.version()
    texts = [e["text"] for e in project.examples("greet")["examples"]]
    assert "good day to you" in texts and "salutations" not in texts


def test_duplicates_are_refused_with_the_intent_that_has_them(project):
    with pytest.raises(ProjectError) as refused:
        project.add_examples("goodbye", ["HELLO"])
    assert "already an example of greet" in str(refused.value)
    result = project.add_examples("goodbye", ["HELLO", "see you around, friend"], skip_duplicates=True)
    assert result["skipped"] == [{"text": "HELLO", "intent": "greet"}]


def test_edit_move_and_delete_examples(project):
    project.add_examples("greet", ["howdy partner"])
    project.update_example("greet", "howdy partner", "howdy, partner")
    project.move_example("howdy, partner", "greet", "goodbye")
    assert "howdy, partner" in [e["text"] for e in project.examples("goodbye")["examples"]]
    project.delete_example("goodbye", "howdy, partner")
    assert "howdy, partner" not in [e["text"] for e in project.examples("goodbye")["examples"]]
    with pytest.raises(ProjectError) as missing:
        project.delete_example("goodbye", "howdy, partner")
    assert missing.value.status == 404


def test_renaming_an_intent_updates_examples_domain_and_rules(project):
    project.rename_intent("size_guide", "sizing_help", project.version())
    assert any(i["name"] == "sizing_help" and i["examples"] > 0 for i in project.intents()["intents"])
    assert "intent: sizing_help" in (project.data_dir / "rules.yml").read_text()
    assert "- sizing_help" in (project.data_dir / "domain.yml").read_text()
    assert "size_guide" not in (project.data_dir / "nlu.yml").read_text().split("regex")[-1]


@pytest.mark.parametrize("name", ["has space", "Greet", "nlu_fallback", "session_start", "utter_x", "", "9lives"])
def test_bad_intent_names_are_refused(project, name):
    with pytest.raises(ProjectError) as refused:
        project.add_intent(name, ["an example"])
    assert refused.value.status == 422


def test_a_new_intent_with_a_response_gets_an_answer_rule_and_can_be_deleted(project):
    project.add_intent("gift_wrapping", ["can you gift wrap it", "do you offer gift wrapping"],
                       response="Yes, gift wrapping is free at checkout.")
    summary = next(i for i in project.intents()["intents"] if i["name"] == "gift_wrapping")
    assert summary["examples"] == 2 and summary["responses"][0]["texts"] == ["Yes, gift wrapping is free at checkout."]
    project.set_response("utter_gift_wrapping", ["Gift wrapping is free.", "We wrap for free."])
    assert project.intents()["intents"][-1]["responses"][0]["texts"] == ["Gift wrapping is free.", "We wrap for free."]
    removed = project.delete_intent("gift_wrapping")
    assert removed["removed_rules"] == ["rules.yml: answer gift_wrapping"]
    assert "gift_wrapping" not in (project.data_dir / "domain.yml").read_text()


def test_validation_names_what_to_fix(project):
    (project.data_dir / "nlu.yml").write_text((project.data_dir / "nlu.yml").read_text().replace(
        "- intent: goodbye\n  examples: |\n", "- intent: goodbye\n  examples: |\n    - hello\n    - [x](colour) please\n"))
    kinds = {p.kind for p in validate(project)}
    assert {"duplicate_example", "unknown_entity"} <= kinds
    (project.data_dir / "domain.yml").write_text("intents: [oops\n")
    [problem] = validate(project)
    assert problem.kind == "invalid_file" and "domain.yml is not valid YAML (line" in problem.message


def test_annotations_round_trip_and_literal_brackets_are_escaped():
    example = parse('my order [A12345](order_id) and [me@x.io]{"entity": "email"}')
    assert example.text == "my order A12345 and me@x.io"
    assert [(s.entity, example.text[s.start:s.end]) for s in example.entities] == [("order_id", "A12345"),
                                                                                   ("email", "me@x.io")]
    line = annotate("see [this](link) order 12345", [Span(23, 28, "order_id")])
    assert parse(line).text == "see (this)(link) order 12345" and parse(line).entities[0].entity == "order_id"


def test_personal_data_is_masked_but_order_numbers_stay():
    masked, found = mask("I'm ada@example.com, call +44 20 7946 0958, card 4242 4242 4242 4242, order 12345")
    assert masked == "I'm name@example.com, call 555-0100, card [card number], order 12345"
    assert [f.kind for f in found] == ["email", "card", "phone"]
    assert mask("order 123456 and 4242 4242 4242 4241")[1] == []   # not a valid card (Luhn), not a phone
