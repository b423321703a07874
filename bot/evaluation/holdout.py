"""Holding examples out of a Rasa NLU file, and a trainer who knows their true intents.

For the inbox-loop experiment (benchmarks/inbox_loop.py): a seeded share of each intent's
examples is taken out of `nlu.yml` (the file is otherwise kept byte for byte, comments and
order included), sent to the bot as customer messages, and the trainer's verdict on each
one that reaches the review inbox is the one a trainer who knows the truth would give.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from bot.evaluation.metrics import OUT_OF_SCOPE
from bot.training_data.examples import parse as parse_example

INTENT_LINE = re.compile(r"^- intent:\s*(?P<name>\S+)\s*$")
EXAMPLES_KEY = re.compile(r"^(?P<indent>\s+)examples:\s*\|[-+]?\s*$")
EXAMPLE_LINE = re.compile(r"^(?P<indent>\s+)- (?P<example>.*\S)\s*$")


@dataclass(frozen=True)
class HeldOut:
    intent: str
    example: str    # the line as Rasa reads it (entity annotations kept)

    @property
    def text(self) -> str:
        """What a customer would have typed."""
        return parse_example(self.example).text


def example_lines(lines: Sequence[str]) -> Dict[str, List[int]]:
    """Line numbers of each intent's examples (in the `examples: |` blocks of `- intent:` entries)."""
    found: Dict[str, List[int]] = {}
    intent: Optional[str] = None
    block_indent: Optional[int] = None   # indentation of the current `examples:` key
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:   # a new top-level entry or key
            match = INTENT_LINE.match(line)
            intent, block_indent = (match.group("name") if match else None), None
            continue
        if block_indent is not None and indent > block_indent:
            example = EXAMPLE_LINE.match(line)
            if example and intent is not None:
                found.setdefault(intent, []).append(number)
            continue
        block_indent = None
        key = EXAMPLES_KEY.match(line)
        if key and intent is not None:
            block_indent = len(key.group("indent"))
    return found


def hold_out(nlu_text: str, share: float, seed: int) -> Tuple[str, List[HeldOut]]:
    """Take a seeded `share` of each intent's examples out of an NLU file's text.

    Each intent keeps at least one example. Returns the remaining text (every other line as
    it was) and the examples taken out, in file order.
    """
    if not 0.0 <= share < 1.0:
        raise ValueError("share must be at least 0 and below 1")
    lines = nlu_text.splitlines(keepends=True)
    removed: List[int] = []
    for intent, numbers in example_lines(lines).items():
        count = min(len(numbers) - 1, math.floor(len(numbers) * share + 0.5))
        # One generator per intent: adding an intent elsewhere leaves this one's choice alone.
        removed += random.Random(f"{seed}/{intent}").sample(numbers, count)
    gone = set(removed)
    held = []
    intents = {n: i for i, numbers in example_lines(lines).items() for n in numbers}
    for number in sorted(gone):
        held.append(HeldOut(intents[number], EXAMPLE_LINE.match(lines[number]).group("example")))
    return "".join(line for n, line in enumerate(lines) if n not in gone), held


@dataclass(frozen=True)
class Verdict:
    action: str                   # confirm | relabel | out_of_scope
    intent: Optional[str] = None  # the intent the message becomes an example of (None: out of scope)

    def body(self, message_ids: Sequence[int], version: Optional[str]) -> Dict[str, object]:
        """The request to /api/review/act (confirm takes the bot's guess, so names no intent)."""
        body: Dict[str, object] = {"message_ids": list(message_ids), "action": self.action, "version": version}
        if self.action == "relabel":
            body["intent"] = self.intent
        return body


def trainer_verdict(predicted: Optional[str], truth: str) -> Verdict:
    """What a trainer who knows the message's true intent does with it in the review inbox."""
    if truth == OUT_OF_SCOPE:
        return Verdict("out_of_scope")
    if predicted == truth:
        return Verdict("confirm", truth)
    return Verdict("relabel", truth)


def batches(verdicts: Iterable[Tuple[int, Verdict]], size: int = 500) -> List[Tuple[Verdict, List[int]]]:
    """Inbox items with the same verdict acted on together (bulk actions), at most `size` at a time.

    A confirmation names its intent, so one batch of them always shares the bot's guess, as
    the inbox requires."""
    groups: Dict[Tuple[str, Optional[str]], List[int]] = {}
    for message_id, verdict in verdicts:
        groups.setdefault((verdict.action, verdict.intent), []).append(message_id)
    out = []
    for (action, intent), ids in groups.items():
        for start in range(0, len(ids), size):
            out.append((Verdict(action, intent), ids[start:start + size]))
    return out
