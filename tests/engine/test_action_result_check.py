"""The action-answer check built once accepts and refuses exactly what Rasa's own check does."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import action_result_check

ANSWERS = [
    {"events": [], "responses": []},
    {},
    {"events": [{"event": "slot", "name": "order_number", "value": "12345"}],
     "responses": [{"text": "Found it", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]},
    {"events": [{"event": "slot", "timestamp": 1.5, "name": "email", "value": None}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "utter_greet"}]},
    {"events": "not a list"},
    {"events": [{"event": "slot", "name": 3}]},
    {"events": [{"no": "event key"}]},
    {"responses": "nope"},
    {"events": [{"event": "unknown_kind"}]},
    {"events": [{"event": "user", "text": None, "parse_data": {"intent": {"name": "greet"}}}]},
    [],
    "text",
]


def rasa_verdict(answer):
    try:
        jsonschema.validate(answer, RemoteAction.action_response_format_spec())
        return "ok"
    except jsonschema.ValidationError as exc:
        return exc.message


@pytest.mark.parametrize("answer", ANSWERS)
def test_same_verdict_and_message_as_jsonschema_validate(answer):
    action_result_check.install()
    action = RemoteAction("validate_order_form", None)
    expected = rasa_verdict(answer)
    if expected == "ok":
        assert action._validate_action_result(answer) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as caught:
            action._validate_action_result(answer)
        assert caught.value.message.startswith(expected)
        assert "Failed to validate Action server response" in caught.value.message


def test_some_answers_are_refused():
    # The cases above must exercise both outcomes, or the comparison proves nothing.
    verdicts = {rasa_verdict(a) == "ok" for a in ANSWERS}
    assert verdicts == {True, False}
