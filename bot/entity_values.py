"""Entity values cleaned the way the bot's answers and the CRM lookups expect them.

Rasa's whitespace tokenizer keeps "#12345" as one token, so DIET extracts the
order number with its "#"; the bot would then say "order ##12345" and a CRM
lookup by order id would miss. The cleaned value goes into the parse that Rasa's
dialogue receives, so slots get it too.
"""

from __future__ import annotations

from typing import Any, Dict

ORDER_NUMBER_PREFIXES = "#"


def clean_entity_values(parse: Dict[str, Any]) -> Dict[str, Any]:
    """Clean entity values in a Rasa parse, in place; returns it."""
    for entity in parse.get("entities") or []:
        value = entity.get("value")
        if entity.get("entity") != "order_id" or not isinstance(value, str):
            continue
        cleaned = value.strip().lstrip(ORDER_NUMBER_PREFIXES).strip()
        if cleaned and cleaned != value:
            if isinstance(entity.get("start"), int):
                entity["start"] += value.index(cleaned)
            entity["value"] = cleaned
    return parse
