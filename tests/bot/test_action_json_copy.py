"""The action protocol's copy gives what a JSON round trip over HTTP would: equal values, nothing shared."""

from __future__ import annotations

import json

import pytest

from bot.custom_actions import _json_copy

VALUE = {
    "sender_id": "rest:ü-1", "tracker": {"events": [
        {"event": "user", "text": "wo ist meine Bestellung? 🙂", "timestamp": 1733090000.123456,
         "parse_data": {"intent": {"name": "order_status", "confidence": 0.30000000000000004},
                        "entities": [{"entity": "order_number", "value": "12345", "start": 3, "end": 8}],
                        "intent_ranking": [], "text_tokens": [(0, 2), (3, 6)]}},
        {"event": "slot", "name": "email", "value": None}, {"event": "action", "name": "utter_greet"},
    ], "slots": {"order_number": "12345", "verified": True, "count": 2 ** 40, "tiny": 1e-300}},
    "domain": {"forms": {"order_form": {"required_slots": ["order_number", "email"]}}},
}


def test_copy_equals_a_json_round_trip_and_shares_nothing():
    copied = _json_copy(VALUE)
    assert copied == json.loads(json.dumps(VALUE))
    assert copied["tracker"]["events"][0]["parse_data"]["text_tokens"] == [[0, 2], [3, 6]]   # tuples become lists
    copied["tracker"]["slots"]["order_number"] = "changed"
    assert VALUE["tracker"]["slots"]["order_number"] == "12345"


def test_what_json_cannot_carry_fails_as_before():
    with pytest.raises(TypeError):
        _json_copy({"value": object()})
