"""The conversation store: SQLAlchemy tables, the engine factory and the repository."""
