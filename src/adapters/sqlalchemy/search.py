"""Catalog search on each database's own full-text index (revision 0012).

PostgreSQL matches ``content.search_vector`` (title A, tags B, description C, in the
language of ``platform_settings.search_language``) through its GIN index and ranks
with ``ts_rank``. SQLite matches the FTS5 table ``content_search`` and ranks with
``bm25`` (title weighted 10, tags 5, description 1). Every word a reader types must
match a word or the start of one, so "yog flow" finds "Yoga flow".

Neither index is in the SQLAlchemy metadata (alembic leaves ``SEARCH_OBJECTS`` alone).
A later migration that rebuilds ``content`` in SQLite batch mode drops its triggers:
it must create them again (see revision 0012).
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import REGCONFIG

from adapters.sqlalchemy.tables import content, platform_settings

SEARCH_OBJECTS = frozenset({
    "search_vector", "idx_content_search", "content_search_docs", "content_search",
    "content_search_data", "content_search_idx", "content_search_content",
    "content_search_docsize", "content_search_config",
})
MAX_TERMS = 8
# A word in more items than this is "common" on PostgreSQL: in newest or popular order
# its matches are read along that order's index, stopping after a page.
COMMON = 2000
# Letters and digits: both indexes split words at everything else, underscores included.
_WORD = re.compile(r"[^\W_]+")

_vector: sa.ColumnElement[Any] = sa.literal_column("content.search_vector")
_docs = sa.table("content_search_docs", sa.column("docid"), sa.column("content_id"))
_fts = sa.table("content_search", sa.column("rowid"))


def terms(text: str) -> list[str]:
    """The words of a query, lower-cased, at most ``MAX_TERMS``; none for punctuation
    (so ``%``, ``_``, quotes and the indexes' own operators are never syntax)."""
    return [word.lower() for word in _WORD.findall(text)][:MAX_TERMS]


def match_text(words: list[str], dialect: str) -> str:
    """Every word, each also as a prefix, in the dialect's query syntax (the words hold
    only letters and digits, so quoting them is safe)."""
    if dialect == "postgresql":
        return " & ".join(f"'{word}':*" for word in words)
    return " ".join(f'"{word}"*' for word in words)


def _tsquery() -> sa.ColumnElement[object]:
    language = sa.select(platform_settings.c.search_language).limit(1).scalar_subquery()
    return sa.func.to_tsquery(sa.cast(language, REGCONFIG),
                              sa.bindparam("search", type_=sa.String()))


def count_statement() -> sa.Select[Any]:
    """PostgreSQL: how many items match ``:search``, up to COMMON, from the index."""
    return sa.select(sa.func.patronage_search_count(_tsquery(), COMMON))


def common_match() -> sa.ColumnElement[bool]:
    """PostgreSQL, a common word: a plain condition, so the planner walks the order's
    index and stops after a page (the matches are dense)."""
    return _vector.op("@@")(_tsquery())


def matching(dialect: str) -> tuple[sa.FromClause, sa.ColumnElement[bool]]:
    """What to select ``content`` from, and the condition, for the bound ``:search``.

    The matches are found first, through the index, whatever order is asked for: left
    to itself a planner may instead walk the newest items testing each one, which on a
    word found nowhere reads the whole catalog (PostgreSQL: 196 ms at a million items;
    SQLite chose that path at any size).
    """
    if dialect == "postgresql":
        hits = (sa.select(content.c.id).where(_vector.op("@@")(_tsquery()))
                .cte("search_hits").prefix_with("MATERIALIZED", dialect="postgresql"))
        return content, content.c.id.in_(sa.select(hits.c.id))
    joined = (content.join(_docs, _docs.c.content_id == content.c.id)
              .join(_fts, _fts.c.rowid == _docs.c.docid))
    return joined, sa.literal_column("content_search").op("MATCH")(
        sa.bindparam("search", type_=sa.String()))


def ranked(dialect: str, columns: tuple[sa.ColumnElement[Any], ...]) -> sa.Select[Any]:
    """The catalog columns of matching items with their ``relevance`` (higher is
    better). Every match is ranked, so there is no order to walk instead."""
    if dialect == "postgresql":
        rank = sa.cast(sa.func.ts_rank(_vector, _tsquery()), sa.Float).label("relevance")
        return sa.select(*columns, rank).where(_vector.op("@@")(_tsquery()))
    # bm25 is lower for better matches; negated, higher is better as on PostgreSQL.
    rank = (-sa.func.bm25(sa.literal_column("content_search"), 10.0, 5.0, 1.0)
            ).label("relevance")
    source, matched = matching(dialect)
    return sa.select(*columns, rank).select_from(source).where(matched)
