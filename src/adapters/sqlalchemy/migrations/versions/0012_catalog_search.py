"""Indexed catalog search: PostgreSQL full text in the platform's language, SQLite FTS5.

PostgreSQL: ``content.search_vector`` (title weighted A, tags B, description C), kept by
a trigger in the language named by ``platform_settings.search_language``, behind a GIN
index. SQLite: an FTS5 table kept by triggers, its rows tied to content through
``content_search_docs`` (an integer key that VACUUM cannot renumber, as it may a
table's implicit rowid). Neither is in the SQLAlchemy metadata: they are the database's
own index, read only by the catalog query (``adapters/sqlalchemy/search.py``).

Revision ID: 0012_catalog_search
Revises: 0011_credit_packs
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_catalog_search"
down_revision: str | None = "0011_credit_packs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_UP = (
    "ALTER TABLE content ADD COLUMN search_vector tsvector",
    # Immutable in its arguments, so the trigger and a re-index compute the same thing.
    """
    CREATE FUNCTION patronage_content_vector(cfg regconfig, title text, description text,
                                             tags jsonb) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
      SELECT setweight(to_tsvector(cfg, coalesce(title, '')), 'A')
          || setweight(to_tsvector(cfg, coalesce((
                 SELECT string_agg(value, ' ')
                 FROM jsonb_array_elements_text(coalesce(tags, '[]'::jsonb))), '')), 'B')
          || setweight(to_tsvector(cfg, coalesce(description, '')), 'C')
    $$
    """,
    """
    CREATE FUNCTION patronage_content_search() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.search_vector := patronage_content_vector(
          coalesce((SELECT search_language FROM platform_settings LIMIT 1),
                   'english')::regconfig,
          NEW.title, NEW.description, NEW.tags);
      RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER content_search BEFORE INSERT OR UPDATE OF title, description, tags "
    "ON content FOR EACH ROW EXECUTE FUNCTION patronage_content_search()",
    # How many items match, up to ``cap``, read through the index alone (a bitmap scan
    # stops at the cap; a sequential scan is never chosen, however the planner guesses).
    """
    CREATE FUNCTION patronage_search_count(q tsquery, cap integer) RETURNS integer
    LANGUAGE sql STABLE SET enable_seqscan = off SET enable_indexscan = off AS $$
      SELECT count(*)::integer
      FROM (SELECT 1 FROM content WHERE search_vector @@ q LIMIT cap) AS hits
    $$
    """,
    "UPDATE content SET search_vector = "
    "patronage_content_vector('english', title, description, tags)",
    # No pending list: a search never scans unmerged entries (content is read far more
    # often than it is written).
    "CREATE INDEX idx_content_search ON content USING gin (search_vector) "
    "WITH (fastupdate = off)",
)
PG_DOWN = (
    "DROP FUNCTION patronage_search_count(tsquery, integer)",
    "DROP TRIGGER content_search ON content",
    "DROP FUNCTION patronage_content_search()",
    "DROP FUNCTION patronage_content_vector(regconfig, text, text, jsonb)",
    "DROP INDEX idx_content_search",
    "ALTER TABLE content DROP COLUMN search_vector",
)

# Tags are a JSON list; FTS5 indexes them as words.
SQLITE_UP = (
    "CREATE TABLE content_search_docs (docid INTEGER PRIMARY KEY, "
    "content_id CHAR(32) NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE content_search USING fts5("
    "title, tags, description, tokenize = 'unicode61 remove_diacritics 2')",
    "INSERT INTO content_search_docs (content_id) SELECT id FROM content ORDER BY id",
    """
    INSERT INTO content_search (rowid, title, tags, description)
    SELECT d.docid, c.title,
           coalesce((SELECT group_concat(value, ' ') FROM json_each(c.tags)), ''),
           coalesce(c.description, '')
    FROM content AS c JOIN content_search_docs AS d ON d.content_id = c.id
    """,
    """
    CREATE TRIGGER content_search_insert AFTER INSERT ON content BEGIN
      INSERT INTO content_search_docs (content_id) VALUES (NEW.id);
      INSERT INTO content_search (rowid, title, tags, description)
      VALUES ((SELECT docid FROM content_search_docs WHERE content_id = NEW.id), NEW.title,
              coalesce((SELECT group_concat(value, ' ') FROM json_each(NEW.tags)), ''),
              coalesce(NEW.description, ''));
    END
    """,
    """
    CREATE TRIGGER content_search_update AFTER UPDATE OF title, description, tags
    ON content BEGIN
      UPDATE content_search
      SET title = NEW.title,
          tags = coalesce((SELECT group_concat(value, ' ') FROM json_each(NEW.tags)), ''),
          description = coalesce(NEW.description, '')
      WHERE rowid = (SELECT docid FROM content_search_docs WHERE content_id = NEW.id);
    END
    """,
    """
    CREATE TRIGGER content_search_delete AFTER DELETE ON content BEGIN
      DELETE FROM content_search
      WHERE rowid = (SELECT docid FROM content_search_docs WHERE content_id = OLD.id);
      DELETE FROM content_search_docs WHERE content_id = OLD.id;
    END
    """,
)
SQLITE_DOWN = (
    "DROP TRIGGER content_search_delete",
    "DROP TRIGGER content_search_update",
    "DROP TRIGGER content_search_insert",
    "DROP TABLE content_search",
    "DROP TABLE content_search_docs",
)


def upgrade() -> None:
    with op.batch_alter_table("platform_settings") as batch:
        batch.add_column(sa.Column("search_language", sa.String(32), nullable=False,
                                   server_default="english"))
    for statement in PG_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in PG_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    with op.batch_alter_table("platform_settings") as batch:
        batch.drop_column("search_language")
