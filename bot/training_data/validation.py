"""What to fix before training, in words a trainer can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from bot.training_data.examples import normalised, parse, read_block
from bot.training_data.project import MAX_EXAMPLE_CHARS, RasaProject
from bot.training_data.yaml_files import DataFileError

MIN_EXAMPLES = 5


@dataclass(frozen=True)
class Problem:
    kind: str            # invalid_file | duplicate_example | too_few_examples | no_answer | unknown_entity | ...
    message: str
    intent: Optional[str] = None
    blocking: bool = True   # training would fail or learn something wrong

    def as_json(self) -> dict:
        return {"kind": self.kind, "message": self.message, "intent": self.intent, "blocking": self.blocking}


def validate(project: RasaProject, handed_to_people: Sequence[str] = (), min_examples: int = MIN_EXAMPLES) -> List[Problem]:
    try:
        nlu, domain, rules, stories = project._load()
    except DataFileError as exc:
        return [Problem("invalid_file", str(exc))]
    problems: List[Problem] = []
    domain_intents = project._domain_intents(domain)
    entities = {str(e) if not isinstance(e, dict) else next(iter(e)) for e in domain.document.get("entities") or []}
    seen: Dict[str, str] = {}
    counts: Dict[str, int] = {}
    for entry in project._intent_entries(nlu):
        intent = str(entry["intent"])
        for line in read_block(entry.get("examples", "")):
            counts[intent] = counts.get(intent, 0) + 1
            example = parse(line)
            key = normalised(example.text)
            if key in seen and seen[key] != intent:
                problems.append(Problem("duplicate_example",
                                        f"“{example.text}” is an example of both {seen[key]} and {intent}", intent))
            seen.setdefault(key, intent)
            if len(example.text) > MAX_EXAMPLE_CHARS:
                problems.append(Problem("example_too_long", f"an example of {intent} is longer than "
                                        f"{MAX_EXAMPLE_CHARS} characters", intent))
            for span in example.entities:
                if span.entity not in entities:
                    problems.append(Problem("unknown_entity", f"“{example.text}” ({intent}) marks an entity "
                                            f"{span.entity!r} the domain does not declare", intent))
        if intent not in domain_intents:
            problems.append(Problem("not_in_domain", f"{intent} has examples but is not listed in domain.yml", intent))
    answered = project._answers(rules, stories)
    for intent in domain_intents:
        if counts.get(intent, 0) < min_examples:
            problems.append(Problem("too_few_examples", f"{intent} has {counts.get(intent, 0)} examples; "
                                    f"give it at least {min_examples}", intent, blocking=counts.get(intent, 0) == 0))
        if intent not in answered and intent not in handed_to_people:
            problems.append(Problem("no_answer", f"{intent} has no rule or story saying how the bot answers it",
                                    intent, blocking=False))
    return problems
