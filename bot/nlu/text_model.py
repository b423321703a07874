"""The intent model itself, free of Rasa: TF-IDF over character and word n-grams,
then logistic regressions whose probabilities the handoff policy reads.

Two of them share the features: a gate (in scope or not, trained on every
example, with `out_of_scope` as the negative class) and the intent classifier
(trained on in-scope examples only). P(intent) = P(in scope) * P(intent | in
scope) and P(out_of_scope) = 1 - P(in scope). Out-of-scope text is every topic
under the sun; as one class among thirty in a single softmax it competes with
each intent on that intent's words, while a gate of its own learns "is this about
the shop at all" from all of them together (measured: benchmarks/RESULTS.md).
Without `out_of_scope` examples (e.g. Banking77) the gate is left out.

Kept apart from the Rasa component so that experiments can fit it without
`rasa train`; the component (bot/nlu/tfidf_classifier.py) is a thin wrapper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

OUT_OF_SCOPE = "out_of_scope"
_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, digits folded to 0: order 48213 and order 10927 look alike."""
    return _SPACES.sub(" ", _DIGITS.sub("0", text.lower())).strip()


@dataclass(frozen=True)
class TextModelConfig:
    char_ngrams: Tuple[int, int] = (2, 5)
    word_ngrams: Tuple[int, int] = (1, 2)
    C: float = 30.0
    gate_C: float = 30.0
    class_weight: str = "none"  # or "balanced"
    out_of_scope_gate: bool = True
    max_iter: int = 3000

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> "TextModelConfig":
        known = {f.name for f in fields(cls)}
        values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items() if k in known}
        return cls(**values)


def _features(config: TextModelConfig):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=config.char_ngrams, sublinear_tf=True,
                                  preprocessor=normalise, dtype=np.float32)),
        ("words", TfidfVectorizer(analyzer="word", ngram_range=config.word_ngrams, sublinear_tf=True,
                                  preprocessor=normalise, token_pattern=r"(?u)\b\w+\b", dtype=np.float32)),
    ])


def _logistic(C: float, config: TextModelConfig, balanced: bool = False):
    from sklearn.linear_model import LogisticRegression

    weight = "balanced" if balanced or config.class_weight == "balanced" else None
    return LogisticRegression(C=C, max_iter=config.max_iter, class_weight=weight)


class IntentModel:
    def __init__(self, config: TextModelConfig) -> None:
        self.config = config
        self.features = _features(config)
        self.intents = None
        self.gate = None
        self.classes_: Optional[np.ndarray] = None

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> "IntentModel":
        X = self.features.fit_transform(list(texts))
        y = np.asarray(intents)
        in_scope = y != OUT_OF_SCOPE
        use_gate = self.config.out_of_scope_gate and 0 < int((~in_scope).sum()) and len(set(y[in_scope])) >= 2
        if use_gate:
            # Balanced: the gate must not learn "most messages are out of scope" from a big negative class.
            self.gate = _logistic(self.config.gate_C, self.config, balanced=True).fit(X, in_scope)
            self.intents = _logistic(self.config.C, self.config).fit(X[in_scope], y[in_scope])
            self.classes_ = np.append(self.intents.classes_, OUT_OF_SCOPE)
        else:
            self.intents = _logistic(self.config.C, self.config).fit(X, y)
            self.classes_ = self.intents.classes_
        return self

    def transform(self, texts: Sequence[str]) -> Any:
        """The FeatureUnion's own result (its parts side by side), without its joblib round per call."""
        from scipy import sparse

        parts = [vectoriser.transform(texts) for _, vectoriser in self.features.transformer_list]
        return sparse.hstack(parts).tocsr()

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_scorer", None)   # rebuilt from the fitted parts; its analysers cannot be pickled
        return state

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities per text, through the lean scorer (bot/nlu/text_scoring.py) whenever it
        knows the model's shape: one code path for one text or many, so a message gets the same
        ranking alone or in a batch."""
        scorer = self.__dict__.get("_scorer")
        if scorer is None:
            scorer = self.__dict__["_scorer"] = _lean_scorer(self)
        if scorer is not False and len(texts):
            return scorer.predict_proba(texts)
        return self.sklearn_predict_proba(texts)

    def sklearn_predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        X = self.transform(list(texts))
        probabilities = self.intents.predict_proba(X)
        if self.gate is None:
            return probabilities
        p_in = self.gate.predict_proba(X)[:, list(self.gate.classes_).index(True)]
        return np.hstack([probabilities * p_in[:, None], (1.0 - p_in)[:, None]])


def _lean_scorer(model: IntentModel) -> Any:
    from bot.nlu.text_scoring import TextScorer

    try:
        return TextScorer(model)
    except (ValueError, AttributeError):
        return False   # a shape it does not know: scikit-learn scores it


def fit(config: TextModelConfig, texts: Sequence[str], intents: Sequence[str]) -> IntentModel:
    return IntentModel(config).fit(texts, intents)


def rank(model: IntentModel, texts: Sequence[str]) -> List[List[Tuple[str, float]]]:
    """Every intent with its probability, best first, for each text (one vectorised call)."""
    if not texts:
        return []
    probabilities = model.predict_proba(texts)
    order = np.argsort(-probabilities, axis=1)
    classes = model.classes_
    return [[(str(classes[j]), float(row[j])) for j in idx] for row, idx in zip(probabilities, order)]
