"""`TfidfIntentClassifier`: a Rasa 3 intent classifier around `bot.nlu.text_model`.

Used from data/config.yml as `bot.nlu.tfidf_classifier.TfidfIntentClassifier`, so
`rasa train`, `rasa test` and `rasa shell` keep working. It needs no tokenizer or
featurizer (it reads the message text), downloads nothing, and classifies all the
messages it is given in one vectorised call. Its confidences are the logistic
regression's probabilities; the handoff thresholds are learned on them by
`baton evaluate`.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

import joblib

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu import text_model

log = logging.getLogger(__name__)
MODEL_FILE = "tfidf_intent_model.joblib"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TfidfIntentClassifier(IntentClassifier, GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        defaults = text_model.TextModelConfig()
        return {"char_ngrams": list(defaults.char_ngrams), "word_ngrams": list(defaults.word_ngrams),
                "C": defaults.C, "gate_C": defaults.gate_C, "class_weight": defaults.class_weight,
                "out_of_scope_gate": defaults.out_of_scope_gate, "max_iter": defaults.max_iter,
                "ranking_length": 10}

    @staticmethod
    def required_packages() -> List[str]:
        return ["sklearn"]

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 model: Optional[Any] = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "TfidfIntentClassifier":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(TEXT) and e.get(INTENT)]
        if len({e.get(INTENT) for e in examples}) < 2:
            log.warning("TfidfIntentClassifier needs at least two intents; not training.")
            return self._resource
        self.model = text_model.fit(text_model.TextModelConfig.from_dict(self.config),
                                    [e.get(TEXT) for e in examples], [e.get(INTENT) for e in examples])
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(self.model, directory / MODEL_FILE)
        return self._resource

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "TfidfIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                model = joblib.load(directory / MODEL_FILE)
        except (ValueError, FileNotFoundError):
            log.warning("No trained TfidfIntentClassifier in the model; it will classify nothing.")
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None:
            return messages
        # Rasa hands over messages whose text is empty (e.g. "/intent" shortcuts are resolved before).
        todo = [m for m in messages if m.get(TEXT)]
        for message, ranking in zip(todo, text_model.rank(self.model, [m.get(TEXT) for m in todo])):
            ranked = [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
                      for name, confidence in ranking[: max(1, int(self.config["ranking_length"]))]]
            message.set(INTENT, ranked[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranked, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
