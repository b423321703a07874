"""Baton's own Rasa NLU components (referenced by module path from data/config*.yml)."""
