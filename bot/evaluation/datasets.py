"""Labelled messages for evaluation: Rasa NLU files, and Banking77's open-set protocol."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

from bot.evaluation.metrics import OUT_OF_SCOPE

Example = Tuple[str, str]  # (text, intent)


def load_nlu(path: Path) -> List[Example]:
    """(text, intent) pairs of a Rasa NLU file, entity markup removed."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def write_nlu(examples: Sequence[Example], path: Path) -> None:
    """A Rasa NLU file with these examples (plain text, no entities)."""
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    messages = [Message(data={"text": text, "intent": intent}) for text, intent in examples]
    TrainingData(training_examples=messages).persist_nlu(str(path))


def stratified_folds(examples: Sequence[Example], folds: int, seed: int) -> List[List[int]]:
    """Indices of each fold, every intent spread evenly over the folds."""
    by_intent = {}
    for index, (_, intent) in enumerate(examples):
        by_intent.setdefault(intent, []).append(index)
    rng = random.Random(seed)
    out: List[List[int]] = [[] for _ in range(folds)]
    offset = 0
    for intent in sorted(by_intent):
        indices = by_intent[intent]
        rng.shuffle(indices)
        for k, index in enumerate(indices):
            out[(k + offset) % folds].append(index)
        offset += len(indices)
    return out


@dataclass(frozen=True)
class OpenSetSplit:
    seed: int
    known: List[str]
    train: List[Example]
    test: List[Example]  # unknown intents relabelled out_of_scope


def banking77_open_set(directory: Path, seed: int, known_share: float = 0.75) -> OpenSetSplit:
    """The usual open-set protocol: a seeded random share of intents is known, the rest out of scope."""
    def read(name: str) -> List[Example]:
        with open(Path(directory) / name, newline="", encoding="utf-8") as f:
            return [(row["text"].strip(), row["category"]) for row in csv.DictReader(f)]

    train, test = read("train.csv"), read("test.csv")
    intents = sorted({intent for _, intent in train})
    known = sorted(random.Random(seed).sample(intents, round(known_share * len(intents))))
    known_set = set(known)
    return OpenSetSplit(seed, known, [e for e in train if e[1] in known_set],
                        [(t, i if i in known_set else OUT_OF_SCOPE) for t, i in test])


def nlu_folds(path: Path, folds: int, seed: int, directory: Path) -> List[Tuple[Path, List[Example]]]:
    """K-fold split of a Rasa NLU file: per fold, a training file (entities, regexes and
    synonyms kept) and the held-out (text, intent) pairs."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = load_data(str(path))
    messages = data.intent_examples
    pairs = [(m.get("text"), m.get("intent")) for m in messages]
    out = []
    for k, held in enumerate(stratified_folds(pairs, folds, seed)):
        held_set = set(held)
        part = TrainingData(training_examples=[m for i, m in enumerate(messages) if i not in held_set],
                            entity_synonyms=data.entity_synonyms, regex_features=data.regex_features,
                            lookup_tables=data.lookup_tables)
        train_file = Path(directory) / f"fold-{k}.yml"
        part.persist_nlu(str(train_file))
        out.append((train_file, [pairs[i] for i in held]))
    return out


def open_set_folds(examples: Sequence[Example], folds: int, seed: int, unknown_share: float,
                   directory: Path) -> List[Tuple[Path, List[Example]]]:
    """K-fold split for data without out-of-scope examples: in each fold a seeded share of the
    intents is also left out of training, and their held-out messages become out_of_scope.
    That is how thresholds can be learned for questions the model has never seen."""
    intents = sorted({intent for _, intent in examples})
    rng = random.Random(seed)
    out = []
    for k, held in enumerate(stratified_folds(examples, folds, seed)):
        unknown = set(rng.sample(intents, round(unknown_share * len(intents))))
        held_set = set(held)
        train = [e for i, e in enumerate(examples) if i not in held_set and e[1] not in unknown]
        train_file = Path(directory) / f"open-fold-{k}.yml"
        write_nlu(train, train_file)
        out.append((train_file, [(examples[i][0], OUT_OF_SCOPE if examples[i][1] in unknown else examples[i][1])
                                 for i in held]))
    return out
