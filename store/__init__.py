"""Storage layer, the only package that imports SQLAlchemy: models, sessions, Alembic migrations and the
repository functions every other package reads and writes the app database through."""
