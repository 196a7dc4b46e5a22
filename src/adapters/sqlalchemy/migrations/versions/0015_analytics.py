"""Analytics: what each recorded event is about, a key that records it once, when it was
written (so a late event re-opens its day), and the aggregation's own progress.

Revision ID: 0015_analytics
Revises: 0014_notifications
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sqlalchemy.types import UTCDateTime, UUIDKey

revision: str = "0015_analytics"
down_revision: str | None = "0014_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("subject_type", sa.String(30), nullable=True))
        batch.add_column(sa.Column("subject_id", UUIDKey, nullable=True))
        batch.add_column(sa.Column("source_key", sa.String(255), nullable=True))
        batch.add_column(sa.Column("recorded_at", UTCDateTime, nullable=False,
                                   server_default=sa.text("CURRENT_TIMESTAMP")))
    op.create_index("uq_events_source_key", "events", ["source_key"], unique=True)
    op.create_index("idx_events_recorded_at", "events", ["recorded_at"])
    # What a day's aggregation reads: one type's events of one day, by subject.
    op.create_index("idx_events_type_created", "events", ["event_type", "created_at"])
    # One metric along one dimension over a range of days: what every read asks.
    op.create_index("idx_analytics_daily_series", "analytics_daily",
                    ["metric", "dimension", "day"])
    op.create_table(
        "analytics_runs",
        sa.Column("name", sa.String(50), nullable=False),
        # Events written before this instant are in analytics_daily.
        sa.Column("watermark", UTCDateTime),
        sa.Column("updated_at", UTCDateTime, nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_runs")),
    )


def downgrade() -> None:
    op.drop_table("analytics_runs")
    op.drop_index("idx_analytics_daily_series", table_name="analytics_daily")
    op.drop_index("idx_events_type_created", table_name="events")
    op.drop_index("idx_events_recorded_at", table_name="events")
    op.drop_index("uq_events_source_key", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("recorded_at")
        batch.drop_column("source_key")
        batch.drop_column("subject_id")
        batch.drop_column("subject_type")
