"""Baton: a Rasa bot answers first, and hands the conversation to a person when unsure."""

__version__ = "0.1.0"
