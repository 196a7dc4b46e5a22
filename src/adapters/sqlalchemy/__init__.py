"""PostgreSQL and SQLite persistence on SQLAlchemy Core."""
