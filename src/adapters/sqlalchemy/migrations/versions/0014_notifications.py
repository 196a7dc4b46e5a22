"""In-app notifications: what made each one, each person's channel per kind, and which
expiring credits their holder was warned of.

Revision ID: 0014_notifications
Revises: 0013_media_owners
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sqlalchemy.types import UTCDateTime, UUIDKey

revision: str = "0014_notifications"
down_revision: str | None = "0013_media_owners"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNREAD = "read_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("source_key", sa.String(255), nullable=True))
    op.create_index("uq_notifications_source_key", "notifications", ["source_key"],
                    unique=True)
    op.create_index("idx_notifications_unread", "notifications", ["user_id"],
                    postgresql_where=sa.text(UNREAD), sqlite_where=sa.text(UNREAD))
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", UUIDKey, nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.CheckConstraint("channel IN ('in_app', 'email', 'both', 'none')",
                           name=op.f("ck_notification_preferences_channel")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_notification_preferences_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "credit_expiry_warnings",
        sa.Column("grant_id", UUIDKey, nullable=False),
        sa.Column("customer_id", UUIDKey, nullable=False),
        sa.Column("warned_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"], ["credit_transactions.id"], ondelete="CASCADE",
            name=op.f("fk_credit_expiry_warnings_grant_id_credit_transactions")),
        sa.ForeignKeyConstraint(["customer_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_credit_expiry_warnings_customer_id_users")),
        sa.PrimaryKeyConstraint("grant_id", name=op.f("pk_credit_expiry_warnings")),
    )


def downgrade() -> None:
    op.drop_table("credit_expiry_warnings")
    op.drop_table("notification_preferences")
    op.drop_index("idx_notifications_unread", table_name="notifications")
    op.drop_index("uq_notifications_source_key", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("source_key")
