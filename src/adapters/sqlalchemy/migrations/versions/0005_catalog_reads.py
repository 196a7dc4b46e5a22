"""Catalog reads: per-filter indexes for the public listing, hourly view de-duplication.

Revision ID: 0005_catalog_reads
Revises: 0004_phase4
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sqlalchemy.types import UTCDateTime

revision: str = "0005_catalog_reads"
down_revision: str | None = "0004_phase4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "status = 'published' AND deleted_at IS NULL"
_INDEXES = {
    "idx_content_popular": ["view_count", "id"],
    "idx_content_catalog_category": ["category", "published_at", "id"],
    "idx_content_catalog_type": ["content_type", "published_at", "id"],
    "idx_content_catalog_series": ["series_id", "published_at", "id"],
}


def upgrade() -> None:
    op.create_table(
        "content_views",
        sa.Column("content_id", sa.Uuid(), nullable=False),
        sa.Column("viewer_key", sa.String(length=80), nullable=False),
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["content_id"], ["content.id"],
                                name=op.f("fk_content_views_content_id_content"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("content_id", "viewer_key", "hour", name="pk_content_views"),
    )
    op.create_index("idx_content_views_hour", "content_views", ["hour"], unique=False)
    for name, columns in _INDEXES.items():
        op.create_index(name, "content", columns, unique=False,
                        postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))


def downgrade() -> None:
    for name in reversed(_INDEXES):
        op.drop_index(name, table_name="content")
    op.drop_index("idx_content_views_hour", table_name="content_views")
    op.drop_table("content_views")
