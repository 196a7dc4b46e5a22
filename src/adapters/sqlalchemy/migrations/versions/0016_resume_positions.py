"""Resume positions updated in place: no index on the columns a saved position changes.

A position is saved every few seconds per viewer. With `updated_at` in an index
(`idx_video_playback_user_recent`), every save wrote a new entry into each of the
table's four indexes; without it, PostgreSQL updates the row on its own page and
touches no index (a heap-only update), for which each page keeps a tenth free.
"Continue watching" reads a viewer's unfinished items through a partial index on the
viewer and sorts those few rows by time (decision 9).

Revision ID: 0016_resume_positions
Revises: 0015_analytics
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_resume_positions"
down_revision: str | None = "0015_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("idx_video_playback_user_recent", table_name="video_playback")
    op.create_index("idx_video_playback_user_unfinished", "video_playback", ["user_id"],
                    postgresql_where=sa.text("NOT completed"),
                    sqlite_where=sa.text("NOT completed"))
    if op.get_bind().dialect.name == "postgresql":
        # Pages written from now on keep room for a row's next version.
        op.execute("ALTER TABLE video_playback SET (fillfactor = 90)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE video_playback RESET (fillfactor)")
    op.drop_index("idx_video_playback_user_unfinished", table_name="video_playback")
    op.create_index("idx_video_playback_user_recent", "video_playback",
                    ["user_id", "updated_at"])
