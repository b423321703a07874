from bot.multi_request import request_parts


def test_a_message_is_cut_where_customers_join_requests():
    assert request_parts("where is my order and how do I reset my password") == [
        "where is my order", "how do I reset my password"]
    assert request_parts("Where is my parcel? Also, can I pay with Klarna?") == [
        "Where is my parcel", "can I pay with Klarna"]
    assert request_parts("track my order; change my address") == ["track my order", "change my address"]


def test_one_request_is_not_cut():
    for text in ("where is my order 12345?", "hi, where is my order?", "hi! where is my order?",
                 "can I pay with paypal and klarna", "my parcel says delivered but it is not here", "12345", ""):
        assert request_parts(text) == [], text


def test_a_letter_is_parsed_whole():
    letter = ". ".join(f"this is sentence number {i}" for i in range(6))
    assert request_parts(letter) == []
