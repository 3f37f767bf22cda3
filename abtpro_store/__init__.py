"""Storage layer: SQLAlchemy 2.0 models, engine/session helpers, Alembic migrations and bulk I/O."""
