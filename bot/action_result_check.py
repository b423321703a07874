"""Checks a custom action's answer against Rasa's schema with one validator built once.

Rasa's `RemoteAction` checks every action server answer with `jsonschema.validate`, which first
checks the schema itself against JSON Schema's meta-schema, on every call. Under load with a form
active (its validation action runs on every customer message) that meta-schema check was about a
third of all Python time in the process. The schema is a constant (`action_response_format_spec`),
so it is checked once; each answer is then validated by the same validator class, with the same
`best_match` error and the same message Rasa adds, so accepted and refused answers are Rasa's own.
"""

from __future__ import annotations

from typing import Any, Dict, Text

_installed = False


def install() -> None:
    """Replace `RemoteAction._validate_action_result` (idempotent, process-wide)."""
    global _installed
    if _installed:
        return
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)      # what jsonschema.validate does first, done once
    validator = cls(schema)

    def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result
    _installed = True
