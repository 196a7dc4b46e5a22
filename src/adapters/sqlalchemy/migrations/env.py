"""Alembic environment: runs against the connection or URL that ``migrate`` hands in."""

from __future__ import annotations

from typing import Any

from alembic import context

from adapters.sqlalchemy.engine import create_engine
from adapters.sqlalchemy.search import SEARCH_OBJECTS
from adapters.sqlalchemy.tables import metadata

config = context.config


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # GIN indexes on JSONB exist only on PostgreSQL.
    if type_ == "index" and getattr(obj, "info", {}).get("postgresql_only"):
        return context.get_context().dialect.name == "postgresql"
    # The search index is the database's own (revision 0012), outside the metadata.
    return not (reflected and compare_to is None and name in SEARCH_OBJECTS)


def run_migrations(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        run_migrations(conn)
    engine.dispose()
