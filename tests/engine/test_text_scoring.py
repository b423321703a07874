"""The lean scorer gives scikit-learn's probabilities for the trained model, on every text in data/."""

from __future__ import annotations

import numpy as np
import pytest

from bot.nlu import text_model
from bot.nlu.text_scoring import TextScorer
from tests.engine.conftest import load_agent, nlu_examples
from tests.engine.test_nlu_batch import UNSEEN


@pytest.fixture(scope="module")
def texts():
    """Every example in data/nlu.yml, plus messages the model never saw."""
    return nlu_examples() + UNSEEN


@pytest.fixture(scope="module")
def intent_model(model_path):
    from bot.nlu.tfidf_classifier import TfidfIntentClassifier

    agent = load_agent(model_path)
    found = [node._component for node in agent.processor.graph_runner._instantiated_nodes.values()
             if isinstance(getattr(node, "_component", None), TfidfIntentClassifier)]
    assert found and found[0].model is not None
    return found[0].model


def test_same_probabilities_as_scikit_learn_on_every_example(intent_model, texts):
    sample = texts + ["", "   ", "!!!", "ORDER 12345 WHERE", "ünïcödé ☃", "x" * 2000]
    scorer = TextScorer(intent_model)
    ours = np.vstack([scorer.predict_proba([t]) for t in sample])
    theirs = intent_model.sklearn_predict_proba(sample)
    assert ours.shape == theirs.shape and len(sample) > 2000
    assert np.max(np.abs(ours - theirs)) < 1e-9
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).all()


def test_the_model_scores_one_text_as_it_scores_it_among_many(intent_model, texts):
    alone = np.vstack([intent_model.predict_proba([t]) for t in texts[:300]])
    together = intent_model.predict_proba(texts[:300])
    assert (alone == together).all()
    assert isinstance(intent_model.__dict__.get("_scorer"), TextScorer)
    ranked = text_model.rank(intent_model, texts[:40])
    assert len(ranked) == 40 and all(abs(sum(p for _, p in r) - 1) < 1e-6 for r in ranked)


def test_a_model_that_predicted_still_pickles(intent_model):
    import pickle

    intent_model.predict_proba(["hi"])
    copy = pickle.loads(pickle.dumps(intent_model))
    assert "_scorer" not in copy.__dict__
    assert np.allclose(copy.predict_proba(["hi"]), intent_model.predict_proba(["hi"]), atol=1e-12, rtol=0)
