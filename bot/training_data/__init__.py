"""The Rasa project's training data (data/): read, edited and written back the way people keep it."""
