from bot.entity_values import clean_entity_values


def parse_with(entity: str, value: str, start: int = 17):
    return {"text": "x", "entities": [{"entity": entity, "value": value, "start": start, "end": start + len(value)}]}


def test_an_order_number_loses_its_hash_and_its_start_moves_past_it():
    parse = clean_entity_values(parse_with("order_id", "#12345"))
    assert parse["entities"][0]["value"] == "12345"
    assert parse["entities"][0]["start"] == 18 and parse["entities"][0]["end"] == 23


def test_clean_values_and_other_entities_are_left_alone():
    assert clean_entity_values(parse_with("order_id", "12345"))["entities"][0]["value"] == "12345"
    assert clean_entity_values(parse_with("email", "#ada@example.com"))["entities"][0]["value"] == "#ada@example.com"
    assert clean_entity_values(parse_with("order_id", "#"))["entities"][0]["value"] == "#"  # nothing left to keep
    assert clean_entity_values({"text": "hi"}) == {"text": "hi"}
