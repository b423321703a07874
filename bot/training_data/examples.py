"""Training examples in Rasa's annotation syntax: `where is [12345](order_id)`.

An example is kept as the line Rasa reads (`annotated`); `text` is what a customer would have
typed and `entities` the annotated spans in it, so a trainer can select a span and name it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

# [span](entity) · [span](entity:value) · [span]{"entity": "...", "value": "..."}
ANNOTATION = re.compile(r"\[(?P<span>[^\]\n]+)\](?:\((?P<short>[^)\n]+)\)|(?P<json>\{[^}\n]*\}))")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str
    value: Optional[str] = None   # a synonym's canonical value, when it differs from the text

    def as_json(self) -> dict:
        out = {"start": self.start, "end": self.end, "entity": self.entity}
        if self.value is not None:
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class Example:
    annotated: str
    text: str
    entities: Tuple[Span, ...] = field(default_factory=tuple)

    def as_json(self) -> dict:
        return {"text": self.text, "annotated": self.annotated, "entities": [s.as_json() for s in self.entities]}


def parse(annotated: str) -> Example:
    text_parts: List[str] = []
    spans: List[Span] = []
    position = 0
    cursor = 0
    for match in ANNOTATION.finditer(annotated):
        text_parts.append(annotated[cursor:match.start()])
        position += match.start() - cursor
        span = match.group("span")
        entity, value = None, None
        if match.group("short"):
            entity, _, value = match.group("short").partition(":")
            value = value or None
        else:
            try:
                spec = json.loads(match.group("json"))
            except json.JSONDecodeError:
                spec = {}
            entity = spec.get("entity") if isinstance(spec, dict) else None
            value = spec.get("value") if isinstance(spec, dict) else None
        if entity:
            spans.append(Span(position, position + len(span), entity.strip(), value))
        text_parts.append(span)
        position += len(span)
        cursor = match.end()
    text_parts.append(annotated[cursor:])
    return Example(annotated=annotated, text="".join(text_parts), entities=tuple(spans))


def annotate(text: str, spans: Sequence[Span]) -> str:
    """The annotated line for `text` with `spans` (which must not overlap)."""
    ordered = sorted(spans, key=lambda s: s.start)
    out, cursor = [], 0
    for span in ordered:
        if span.start < cursor or span.end > len(text) or span.start >= span.end:
            raise ValueError(f"entity span {span.start}–{span.end} does not fit the text or overlaps another")
        out.append(_escape(text[cursor:span.start]))
        label = span.entity if span.value in (None, text[span.start:span.end]) else f"{span.entity}:{span.value}"
        out.append(f"[{text[span.start:span.end]}]({label})")
        cursor = span.end
    out.append(_escape(text[cursor:]))
    return "".join(out)


def _escape(text: str) -> str:
    # A literal "[x](y)" in a customer's words would read as an annotation.
    return ANNOTATION.sub(lambda m: m.group(0).replace("[", "(").replace("]", ")"), text)


def normalised(text: str) -> str:
    """What makes two examples the same example: case and spacing do not count."""
    return " ".join(text.lower().split())


def read_block(block: str) -> List[str]:
    """The example lines of an `examples: |` block."""
    lines = []
    for line in str(block).splitlines():
        stripped = line.strip()
        if stripped.startswith("- "):
            lines.append(stripped[2:])
        elif stripped == "-":
            continue
    return lines


def write_block(lines: Sequence[str]) -> str:
    return "".join(f"- {line}\n" for line in lines)
