"""Batched NLU gives exactly what Rasa's own `parse_message` gives, message by message.

Rasa's side is an Agent loaded from the same model and left untouched; Baton's side is a
second Agent with the planned graph runner and the batched DIET installed, parsing lists.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, List

import pytest

from bot import nlu_batch, rasa_graph
from bot.engine import RasaEngine
from tests.engine.conftest import load_agent, nlu_examples

# Padding changes float32 summation order only: intent confidences differ by under 2e-9, the
# CRF's entity confidences by up to about 1e-6.
TOLERANCE = 1e-5


# Messages the model never saw.
UNSEEN = ["???", "!!!", "👍", "...", "a", "where is order #99812 and can I still change the address to Berlin",
          "ASDFGHJKL qwerty", "I want a refund for 12345, 23456 and 34567", "hi " * 60]


def texts() -> List[str]:
    """Training examples from data/nlu.yml, plus messages the model never saw."""
    # Every fifth example (some 550): each intent, entity and length is still there, and Rasa's
    # one-by-one parse of them all, the reference, takes seconds rather than minutes.
    return nlu_examples()[::5] + UNSEEN


def assert_same(ours: Any, rasas: Any, where: str = "parse") -> None:
    if isinstance(rasas, float):
        assert isinstance(ours, float) and math.isclose(ours, rasas, rel_tol=0, abs_tol=TOLERANCE), \
            f"{where}: {ours} != {rasas}"
    elif isinstance(rasas, dict):
        assert isinstance(ours, dict) and ours.keys() == rasas.keys(), f"{where}: keys {ours} != {rasas}"
        for key in rasas:
            if key == "intent_ranking":
                assert_same_ranking(ours[key], rasas[key], f"{where}.{key}")
            else:
                assert_same(ours[key], rasas[key], f"{where}.{key}")
    elif isinstance(rasas, list):
        assert isinstance(ours, list) and len(ours) == len(rasas), f"{where}: {ours} != {rasas}"
        for i, (a, b) in enumerate(zip(ours, rasas)):
            assert_same(a, b, f"{where}[{i}]")
    else:
        assert ours == rasas, f"{where}: {ours!r} != {rasas!r}"


def assert_same_ranking(ours: List[Any], rasas: List[Any], where: str) -> None:
    """The same confidences, best first, and the same intents, except where two intents are within
    the tolerance of each other (padding decides such near-ties): they may swap places, and at the
    end of the list (Rasa keeps the top ten) either may be the one kept."""
    assert len(ours) == len(rasas), f"{where}: {ours} != {rasas}"
    theirs_by_name = {r["name"]: r["confidence"] for r in rasas}
    for i, (mine, theirs) in enumerate(zip(ours, rasas)):
        assert_same(mine["confidence"], theirs["confidence"], f"{where}[{i}].confidence")
        if mine["name"] == theirs["name"]:
            continue
        if mine["name"] in theirs_by_name:
            assert_same(mine["confidence"], theirs_by_name[mine["name"]], f"{where}: {mine['name']}")
        else:
            assert i == len(rasas) - 1, f"{where}[{i}].name: {mine['name']!r} is not in {rasas}"


def parses_by_rasa(model: Any) -> List[Any]:
    """Rasa's own answer for every text, from an untouched processor."""
    from rasa.core.channels.channel import UserMessage

    processor = load_agent(model).processor

    async def parse_all():
        return [await processor.parse_message(UserMessage(text)) for text in texts()]

    return asyncio.run(parse_all())


@pytest.fixture(scope="module")
def rasa_parses(diet_model_path):
    return parses_by_rasa(diet_model_path)


@pytest.fixture(scope="module")
def fast_rasa_parses(model_path):
    return parses_by_rasa(model_path)


@pytest.fixture(scope="module")
def batched_processor(diet_model_path):
    processor = load_agent(diet_model_path).processor
    rasa_graph.install(processor)
    assert nlu_batch.batch_diet(processor) == 1, "the stock pipeline has one DIETClassifier"
    return processor


def test_the_production_pipeline_parses_lists_as_rasa_does(model_path, fast_rasa_parses):
    """The TF-IDF pipeline is not patched; through the planned runner a list still parses as one by one."""
    processor = load_agent(model_path).processor
    rasa_graph.install(processor)
    assert nlu_batch.batch_diet(processor) == 0
    ours = nlu_batch.parse_batch(processor, texts())
    assert len(ours) == len(fast_rasa_parses)
    for text, mine, theirs in zip(texts(), ours, fast_rasa_parses):
        assert_same(mine, theirs, f"parse of {text!r}")


def test_a_batch_parses_every_message_as_rasa_does(rasa_parses, batched_processor):
    all_texts = texts()
    ours = []
    # Batches of the engine's size and odd sizes, so padding and the index map are exercised.
    for size in (nlu_batch.MAX_BATCH, 7, 1):
        ours = []
        for start in range(0, len(all_texts), size):
            ours += nlu_batch.parse_batch(batched_processor, all_texts[start:start + size])
        assert len(ours) == len(rasa_parses)
        for text, mine, theirs in zip(all_texts, ours, rasa_parses):
            assert_same(mine, theirs, f"{size}-batch parse of {text!r}")


def test_a_batch_larger_than_one_diet_call_is_split_and_kept_in_order(rasa_parses, batched_processor):
    all_texts = texts()[:150]
    ours = nlu_batch.parse_batch(batched_processor, all_texts)   # DIET sees it in chunks of MAX_BATCH
    for text, mine, theirs in zip(all_texts, ours, rasa_parses):
        assert_same(mine, theirs, f"parse of {text!r}")


def test_messages_without_features_keep_their_place(batched_processor):
    """DIET predicts nothing for a message without features; its neighbours keep their own results."""
    import copy

    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier

    runner = batched_processor.graph_runner
    diet_node = next(name for name, node in runner._schema.nodes.items() if node.uses is DIETClassifier)
    diet = runner.inner._instantiated_nodes[diet_node]._component
    feeder = runner._schema.nodes[diet_node].needs["messages"]
    sample = ["where is my order 12345?", "hi", "my payment failed", "how long does delivery take?", "thanks"]
    featurized = runner.run(inputs={PLACEHOLDER_MESSAGE: [UserMessage(t) for t in sample]},
                            targets=[feeder])[feeder]
    for stripped in (0, 2, 4):
        messages = copy.deepcopy(featurized)
        messages[stripped].features = []   # as a pipeline that featurises nothing for it would leave it
        expected = [DIETClassifier.process(diet, [copy.deepcopy(m)])[0] for m in messages]  # Rasa's own, one by one
        ours = diet.process(copy.deepcopy(messages))                                        # the batched one
        assert ours[stripped].get("intent") == {"name": None, "confidence": 0.0}
        for text, mine, theirs in zip(sample, ours, expected):
            for key in ("intent", "intent_ranking", "entities"):
                assert_same(mine.get(key), theirs.get(key), f"{key} of {text!r} (stripped {stripped})")


async def test_the_engine_parses_concurrent_messages_together_with_rasas_results(engine, fast_rasa_parses):
    all_texts = texts()[:120]
    before = engine._parses.batches
    ours = await asyncio.gather(*[engine.parse(text) for text in all_texts])
    batches = engine._parses.batches - before
    assert batches < len(all_texts), "concurrent messages were parsed one by one"
    for text, mine, theirs in zip(all_texts, ours, fast_rasa_parses):
        assert mine.text == text
        assert mine.intent == theirs["intent"]["name"]
        assert math.isclose(mine.confidence, theirs["intent"]["confidence"], abs_tol=TOLERANCE)


def test_a_failing_message_fails_alone():
    loop = asyncio.new_event_loop()

    def parse_many(batch):
        if "boom" in batch:
            raise ValueError("cannot parse boom")
        return [{"text": t} for t in batch]

    queue = nlu_batch.ParseQueue(loop, parse_many)
    futures = [queue.submit(t) for t in ("a", "boom", "c")]
    loop.run_until_complete(asyncio.sleep(0.01))
    loop.close()
    assert futures[0].result() == {"text": "a"}
    assert futures[2].result() == {"text": "c"}
    with pytest.raises(ValueError):
        futures[1].result()
    assert queue.batches == 1 and queue.parsed == 3


def test_the_engine_uses_the_batched_path(engine: RasaEngine):
    assert engine._parses is not None
    assert isinstance(engine._agent.processor.graph_runner, rasa_graph.PlannedGraphRunner)
