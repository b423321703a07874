"""The fitted intent model's probabilities for a few texts, without scikit-learn's per-call overhead.

A live turn asks for one or a few texts at a time, and scikit-learn spent about 1.8 ms on one text
(input checks, sparse-matrix building and products, for two vectorisers and two regressions)
where the arithmetic itself takes a few microseconds. This does the same arithmetic with the
fitted vocabularies, idf weights and coefficients: n-gram counts, 1 + log(count), times idf (in
float32, as the vectorisers do), l2 normalisation per vectoriser (float32 squares summed in
double, in column order, as scikit-learn's Cython does), then coefficients, intercepts, softmax
for the intents and the logistic function for the gate. Products and sums go through numpy
rather than scipy's sparse kernels, so probabilities can differ from scikit-learn's in the last
bits (tests/bot/test_text_model.py holds them within 1e-9 on every example in data/).
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
from scipy.special import expit


class TextScorer:
    def __init__(self, model: Any) -> None:
        self.parts: List[Tuple[Any, Dict[str, int], np.ndarray, int]] = []
        offset = 0
        for _, vectoriser in model.features.transformer_list:
            if not (vectoriser.sublinear_tf and vectoriser.use_idf and vectoriser.norm == "l2"
                    and not vectoriser.binary):
                raise ValueError("only sublinear, idf-weighted, l2-normalised TF-IDF is scored here")
            self.parts.append((vectoriser.build_analyzer(), vectoriser.vocabulary_,
                               np.asarray(vectoriser.idf_, dtype=np.float32), offset))
            offset += len(vectoriser.vocabulary_)
        if model.features.transformer_weights:
            raise ValueError("weighted feature unions are not scored here")
        self.coef = np.asarray(model.intents.coef_, dtype=np.float64)
        self.intercept = np.asarray(model.intents.intercept_, dtype=np.float64)
        if self.coef.shape[0] < 2:
            raise ValueError("a two-class intent model is scored by scikit-learn")
        self.gate = None
        if model.gate is not None:
            self.gate = (np.asarray(model.gate.coef_[0], dtype=np.float64), float(model.gate.intercept_[0]),
                         list(model.gate.classes_).index(True))

    def features(self, text: str) -> Tuple[np.ndarray, np.ndarray]:
        """Column indices and float32 TF-IDF values, each vectoriser's block normalised on its own."""
        columns: List[np.ndarray] = []
        values: List[np.ndarray] = []
        for analyse, vocabulary, idf, offset in self.parts:
            counts: Dict[int, int] = {}
            for gram in analyse(text):
                j = vocabulary.get(gram)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            index = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
            tf = np.fromiter((counts[j] for j in index.tolist()), dtype=np.float32, count=len(counts))
            np.log(tf, out=tf)
            tf += np.float32(1)
            weighted = tf * idf[index]
            total = 0.0
            for square in (weighted * weighted).tolist():
                total += square
            if total != 0.0:
                weighted = (weighted.astype(np.float64) / np.sqrt(total)).astype(np.float32)
            columns.append(index + offset)
            values.append(weighted)
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        return np.concatenate(columns), np.concatenate(values)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            index, value = self.features(text)
            x = value.astype(np.float64)
            decision = self.coef[:, index] @ x + self.intercept
            decision = decision - decision.max()
            probabilities = np.exp(decision)
            probabilities /= probabilities.sum()
            if self.gate is not None:
                weights, bias, true_column = self.gate
                p_true = float(expit(float(weights[index] @ x) + bias))
                p_in = p_true if true_column == 1 else 1.0 - p_true
                probabilities = np.append(probabilities * p_in, 1.0 - p_in)
            rows.append(probabilities)
        return np.vstack(rows)
