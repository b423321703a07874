"""The intent model itself, free of Rasa: TF-IDF over character and word n-grams,
then a logistic regression whose probabilities the handoff policy reads.

Kept apart from the Rasa component so that cross-validation (`baton evaluate`) and
the benchmarks can fit it thousands of times faster than through `rasa train`.
On a public 150-intent benchmark with out-of-scope questions this model beat
DIET at every operating point and trained 20x faster; see benchmarks/RESULTS.md
for the store set and Banking77.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, digits folded to 0: order 48213 and order 10927 look alike."""
    return _SPACES.sub(" ", _DIGITS.sub("0", text.lower())).strip()


@dataclass(frozen=True)
class TextModelConfig:
    char_ngrams: Tuple[int, int] = (2, 5)
    word_ngrams: Tuple[int, int] = (1, 2)
    C: float = 10.0
    class_weight: str = "balanced"  # or "none"
    max_iter: int = 2000

    @classmethod
    def from_dict(cls, raw: Dict[str, Any]) -> "TextModelConfig":
        known = {f.name for f in fields(cls)}
        values = {k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items() if k in known}
        return cls(**values)


def build(config: TextModelConfig):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=config.char_ngrams, sublinear_tf=True,
                                  preprocessor=normalise, dtype=np.float32)),
        ("words", TfidfVectorizer(analyzer="word", ngram_range=config.word_ngrams, sublinear_tf=True,
                                  preprocessor=normalise, token_pattern=r"(?u)\b\w+\b", dtype=np.float32)),
    ])
    classifier = LogisticRegression(C=config.C, max_iter=config.max_iter,
                                    class_weight=None if config.class_weight == "none" else config.class_weight)
    return Pipeline([("features", features), ("classifier", classifier)])


def fit(config: TextModelConfig, texts: Sequence[str], intents: Sequence[str]):
    return build(config).fit(list(texts), list(intents))


def rank(model, texts: Sequence[str]) -> List[List[Tuple[str, float]]]:
    """Every intent with its probability, best first, for each text (one vectorised call)."""
    if not texts:
        return []
    probabilities = model.predict_proba(list(texts))
    classes = model.classes_
    order = np.argsort(-probabilities, axis=1)
    return [[(str(classes[j]), float(row[j])) for j in idx] for row, idx in zip(probabilities, order)]
