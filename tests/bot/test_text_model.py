"""The intent model behind Baton's Rasa component, on a tiny hand-made data set (no Rasa)."""

import pytest

from bot.nlu import text_model

DATA = [
    ("where is my order", "order_status"), ("order status please", "order_status"),
    ("has my order shipped", "order_status"), ("what is the status of order 12345", "order_status"),
    ("i want to return my jacket", "start_return"), ("how do i send this back", "start_return"),
    ("return label please", "start_return"), ("i need to return my boots", "start_return"),
    ("what's the weather today", "out_of_scope"), ("asdfgh", "out_of_scope"),
    ("who won the football", "out_of_scope"), ("tell me a joke", "out_of_scope"),
]


@pytest.fixture(scope="module")
def model():
    texts, intents = zip(*DATA)
    return text_model.fit(text_model.TextModelConfig(C=10, gate_C=10), texts, intents)


def test_probabilities_cover_every_intent_and_out_of_scope_and_sum_to_one(model):
    ranking = text_model.rank(model, ["where is my order 55555"])[0]
    assert {name for name, _ in ranking} == {"order_status", "start_return", "out_of_scope"}
    assert sum(p for _, p in ranking) == pytest.approx(1.0)
    assert [p for _, p in ranking] == sorted((p for _, p in ranking), reverse=True)
    assert ranking[0][0] == "order_status"


def test_the_gate_sends_off_topic_text_out_of_scope(model):
    assert text_model.rank(model, ["is the weather nice today"])[0][0][0] == "out_of_scope"
    assert text_model.rank(model, ["i want to return these boots"])[0][0][0] == "start_return"


def test_without_out_of_scope_examples_there_is_no_gate():
    texts, intents = zip(*[d for d in DATA if d[1] != "out_of_scope"])
    plain = text_model.fit(text_model.TextModelConfig(C=10), texts, intents)
    assert plain.gate is None and set(plain.classes_) == {"order_status", "start_return"}


def test_digits_are_folded_so_order_numbers_look_alike():
    assert text_model.normalise("Order  #48213 ") == text_model.normalise("order #10927")


def test_features_are_the_feature_unions_own(model):
    texts = ["where is my order 55555", "RETURN label?!", "", "ünïcödé weather", "order order order"]
    ours = model.transform(texts)
    theirs = model.features.transform(texts)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert (ours != theirs).nnz == 0 and ours.nnz > 0
