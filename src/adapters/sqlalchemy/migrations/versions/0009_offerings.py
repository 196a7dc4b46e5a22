"""Offerings and bookings: the offering's time zone, each booking's session and seat
hold, and one row per session that counts its taken seats under a CHECK.

Revision ID: 0009_offerings
Revises: 0008_memberships
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sqlalchemy.types import UTCDateTime, UUIDKey

revision: str = "0009_offerings"
down_revision: str | None = "0008_memberships"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('confirmed', 'canceled', 'completed', 'no_show')"
NEW_STATUSES = "status IN ('pending', 'confirmed', 'canceled', 'completed', 'no_show')"
LIVE = "status IN ('pending', 'confirmed')"
LIVE_OFFERING = "status = 'published' AND deleted_at IS NULL"
WAITLIST_STATUSES = "status IN ('waiting', 'offered', 'booked', 'expired', 'left')"
LIVE_WAITLIST = "status IN ('waiting', 'offered')"


def upgrade() -> None:
    with op.batch_alter_table("offerings") as batch:
        batch.add_column(sa.Column("timezone", sa.String(50), nullable=True))
        batch.add_column(sa.Column("starts_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("ends_at", UTCDateTime, nullable=True))
    op.create_index("idx_offerings_live_by_start", "offerings", ["starts_at"],
                    postgresql_where=sa.text(LIVE_OFFERING),
                    sqlite_where=sa.text(LIVE_OFFERING))
    with op.batch_alter_table("offering_bookings") as batch:
        batch.add_column(sa.Column("session_key", sa.String(100), nullable=True))
        batch.add_column(sa.Column("starts_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("ends_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("hold_expires_at", UTCDateTime, nullable=True))
        batch.drop_constraint(op.f("ck_offering_bookings_status"), type_="check")
        batch.create_check_constraint(op.f("ck_offering_bookings_status"), NEW_STATUSES)
    op.create_index("uq_offering_bookings_live_seat", "offering_bookings",
                    ["customer_id", "offering_id", "session_key"], unique=True,
                    postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))
    op.create_index("idx_offering_bookings_session", "offering_bookings",
                    ["offering_id", "starts_at"])
    op.create_table(
        "offering_sessions",
        sa.Column("id", UUIDKey, nullable=False),
        sa.Column("offering_id", UUIDKey, nullable=False),
        sa.Column("session_key", sa.String(100), nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("taken", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime, nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.Column("updated_at", UTCDateTime, nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.CheckConstraint("taken >= 0 AND (capacity IS NULL OR taken <= capacity)",
                           name=op.f("ck_offering_sessions_seats")),
        sa.ForeignKeyConstraint(["offering_id"], ["offerings.id"], ondelete="CASCADE",
                                name=op.f("fk_offering_sessions_offering_id_offerings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offering_sessions")),
        sa.UniqueConstraint("offering_id", "session_key",
                            name=op.f("uq_offering_sessions_offering_id_session_key")),
    )
    op.create_index("idx_offering_sessions_starts_at", "offering_sessions", ["starts_at"])
    op.create_table(
        "booking_reminders",
        sa.Column("booking_id", UUIDKey, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.ForeignKeyConstraint(["booking_id"], ["offering_bookings.id"], ondelete="CASCADE",
                                name=op.f("fk_booking_reminders_booking_id_offering_bookings")),
        sa.PrimaryKeyConstraint("booking_id", "kind", name=op.f("pk_booking_reminders")),
    )
    op.create_table(
        "calendar_feeds",
        sa.Column("id", UUIDKey, nullable=False),
        sa.Column("user_id", UUIDKey, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_calendar_feeds_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("user_id", name=op.f("uq_calendar_feeds_user_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    op.create_table(
        "offering_waitlist",
        sa.Column("id", UUIDKey, nullable=False),
        sa.Column("offering_id", UUIDKey, nullable=False),
        sa.Column("customer_id", UUIDKey, nullable=False),
        sa.Column("session_key", sa.String(100), nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="waiting"),
        sa.Column("offered_until", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.Column("updated_at", UTCDateTime, nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.CheckConstraint(WAITLIST_STATUSES, name=op.f("ck_offering_waitlist_status")),
        sa.ForeignKeyConstraint(["offering_id"], ["offerings.id"], ondelete="CASCADE",
                                name=op.f("fk_offering_waitlist_offering_id_offerings")),
        sa.ForeignKeyConstraint(["customer_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_offering_waitlist_customer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offering_waitlist")),
    )
    op.create_index("uq_offering_waitlist_live", "offering_waitlist",
                    ["offering_id", "session_key", "customer_id"], unique=True,
                    postgresql_where=sa.text(LIVE_WAITLIST), sqlite_where=sa.text(LIVE_WAITLIST))
    op.create_index("idx_offering_waitlist_queue", "offering_waitlist",
                    ["offering_id", "session_key", "status", "created_at"])
    # The access check asks whether an item is an unlocked resource of a booked portal.
    op.create_index("idx_offering_resources_content_id", "offering_resources", ["content_id"],
                    postgresql_where=sa.text("content_id IS NOT NULL"),
                    sqlite_where=sa.text("content_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("idx_offering_resources_content_id", table_name="offering_resources")
    op.drop_index("idx_offering_waitlist_queue", table_name="offering_waitlist")
    op.drop_index("uq_offering_waitlist_live", table_name="offering_waitlist")
    op.drop_table("offering_waitlist")
    op.drop_table("calendar_feeds")
    op.drop_table("booking_reminders")
    op.drop_index("idx_offering_sessions_starts_at", table_name="offering_sessions")
    op.drop_table("offering_sessions")
    op.drop_index("idx_offering_bookings_session", table_name="offering_bookings")
    op.drop_index("uq_offering_bookings_live_seat", table_name="offering_bookings")
    with op.batch_alter_table("offering_bookings") as batch:
        batch.drop_constraint(op.f("ck_offering_bookings_status"), type_="check")
        batch.create_check_constraint(op.f("ck_offering_bookings_status"), OLD_STATUSES)
        for column in ("hold_expires_at", "ends_at", "starts_at", "session_key"):
            batch.drop_column(column)
    op.drop_index("idx_offerings_live_by_start", table_name="offerings")
    with op.batch_alter_table("offerings") as batch:
        batch.drop_column("ends_at")
        batch.drop_column("starts_at")
        batch.drop_column("timezone")
