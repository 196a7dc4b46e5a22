"""Media owners: invitations, payout accounts at Stripe Connect, and the earnings ledger.

The platform's fee on a media owner's sale becomes a setting (30 % by default). The
downgrade refuses while earnings entries exist: dropping them would erase the record
of who was paid what.

Revision ID: 0013_media_owners
Revises: 0012_catalog_search
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from adapters.sqlalchemy.types import UTCDateTime, UUIDKey

revision: str = "0013_media_owners"
down_revision: str | None = "0012_catalog_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
AMOUNT = sa.Numeric(10, 2)
PENDING = "accepted_at IS NULL"
NOW = sa.text("CURRENT_TIMESTAMP")


def _times() -> list[sa.Column[object]]:
    return [sa.Column("created_at", UTCDateTime, nullable=False, server_default=NOW),
            sa.Column("updated_at", UTCDateTime, nullable=False, server_default=NOW)]


def upgrade() -> None:
    op.create_table(
        "media_owner_invitations",
        sa.Column("id", UUIDKey, nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=True),
        sa.Column("invited_by", UUIDKey, nullable=True),
        sa.Column("accepted_at", UTCDateTime, nullable=True),
        sa.Column("accepted_user_id", UUIDKey, nullable=True),
        *_times(),
        sa.CheckConstraint("(accepted_at IS NULL) = (accepted_user_id IS NULL)",
                           name=op.f("ck_media_owner_invitations_accepted")),
        sa.ForeignKeyConstraint(["invited_by"], ["users.id"], ondelete="RESTRICT",
                                name=op.f("fk_media_owner_invitations_invited_by_users")),
        sa.ForeignKeyConstraint(["accepted_user_id"], ["users.id"], ondelete="RESTRICT",
                                name=op.f("fk_media_owner_invitations_accepted_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_owner_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_media_owner_invitations_token_hash")),
    )
    op.create_index("uq_media_owner_invitations_open", "media_owner_invitations", ["email"],
                    unique=True, postgresql_where=sa.text(PENDING),
                    sqlite_where=sa.text(PENDING))
    op.create_table(
        "payout_accounts",
        sa.Column("user_id", UUIDKey, nullable=False),
        sa.Column("account_id", sa.String(255), nullable=False),
        sa.Column("charges_enabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("payouts_enabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("details_submitted", sa.Boolean(), nullable=False,
                  server_default=sa.false()),
        sa.Column("requirements_due", JSON, nullable=False, server_default=sa.text("'[]'")),
        sa.Column("disabled_reason", sa.String(255), nullable=True),
        sa.Column("status_as_of", UTCDateTime, nullable=False),
        sa.Column("payouts", JSON, nullable=True),
        sa.Column("payouts_fetched_at", UTCDateTime, nullable=True),
        *_times(),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="RESTRICT",
                                name=op.f("fk_payout_accounts_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_payout_accounts")),
        sa.UniqueConstraint("account_id", name=op.f("uq_payout_accounts_account_id")),
    )
    op.create_table(
        "earnings_entries",
        sa.Column("id", UUIDKey, nullable=False),
        sa.Column("seller_id", UUIDKey, nullable=False),
        sa.Column("entry_type", sa.String(20), nullable=False),
        sa.Column("source_type", sa.String(20), nullable=False),
        sa.Column("source_id", UUIDKey, nullable=False),
        sa.Column("content_id", UUIDKey, nullable=True),
        sa.Column("series_id", UUIDKey, nullable=True),
        sa.Column("offering_id", UUIDKey, nullable=True),
        sa.Column("reference", sa.String(255), nullable=False),
        sa.Column("payment_ref", sa.String(255), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("platform_fee", AMOUNT, nullable=False),
        sa.Column("creator_payout", AMOUNT, nullable=False),
        sa.Column("destination_account", sa.String(255), nullable=True),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False, server_default=NOW),
        sa.CheckConstraint("entry_type IN ('sale', 'refund')",
                           name=op.f("ck_earnings_entries_entry_type")),
        sa.CheckConstraint("source_type IN ('purchase', 'booking', 'installment')",
                           name=op.f("ck_earnings_entries_source_type")),
        # Equal to the cent: SQLite keeps NUMERIC as a float, where 0.03 + 0.07 <> 0.10.
        sa.CheckConstraint("amount > 0 AND platform_fee >= 0 AND creator_payout >= 0 AND "
                           "abs(platform_fee + creator_payout - amount) < 0.005",
                           name=op.f("ck_earnings_entries_split")),
        sa.CheckConstraint(
            "(CASE WHEN content_id IS NULL THEN 0 ELSE 1 END) + "
            "(CASE WHEN series_id IS NULL THEN 0 ELSE 1 END) + "
            "(CASE WHEN offering_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_earnings_entries_one_item")),
        sa.ForeignKeyConstraint(["seller_id"], ["users.id"], ondelete="RESTRICT",
                                name=op.f("fk_earnings_entries_seller_id_users")),
        sa.ForeignKeyConstraint(["content_id"], ["content.id"], ondelete="RESTRICT",
                                name=op.f("fk_earnings_entries_content_id_content")),
        sa.ForeignKeyConstraint(["series_id"], ["content_series.id"], ondelete="RESTRICT",
                                name=op.f("fk_earnings_entries_series_id_content_series")),
        sa.ForeignKeyConstraint(["offering_id"], ["offerings.id"], ondelete="RESTRICT",
                                name=op.f("fk_earnings_entries_offering_id_offerings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earnings_entries")),
        sa.UniqueConstraint("entry_type", "reference",
                            name=op.f("uq_earnings_entries_reference")),
    )
    op.create_index("idx_earnings_entries_seller", "earnings_entries",
                    ["seller_id", "occurred_at"])
    op.create_index("idx_earnings_entries_occurred_at", "earnings_entries", ["occurred_at"])
    op.create_index("idx_earnings_entries_source", "earnings_entries", ["source_id"])
    op.create_index("idx_earnings_entries_payment", "earnings_entries", ["payment_ref"])
    with op.batch_alter_table("purchases") as batch:
        batch.add_column(sa.Column("seller_id", UUIDKey, nullable=True))
        batch.add_column(sa.Column("payout_account", sa.String(255), nullable=True))
        batch.create_foreign_key(op.f("fk_purchases_seller_id_users"), "users",
                                 ["seller_id"], ["id"], ondelete="RESTRICT")
    with op.batch_alter_table("platform_settings") as batch:
        batch.add_column(sa.Column("platform_fee_percent", sa.Numeric(5, 2), nullable=False,
                                   server_default="30"))
        batch.create_check_constraint(
            op.f("ck_platform_settings_platform_fee_percent"),
            "platform_fee_percent >= 0 AND platform_fee_percent <= 100")


def downgrade() -> None:
    bind = op.get_bind()
    recorded = bind.execute(sa.text("SELECT count(*) FROM earnings_entries")).scalar_one()
    if recorded:
        raise RuntimeError(f"{recorded} earnings entries exist; downgrading would erase "
                           "them. Keep revision 0013.")
    with op.batch_alter_table("platform_settings") as batch:
        batch.drop_constraint(op.f("ck_platform_settings_platform_fee_percent"), type_="check")
        batch.drop_column("platform_fee_percent")
    with op.batch_alter_table("purchases") as batch:
        batch.drop_constraint(op.f("fk_purchases_seller_id_users"), type_="foreignkey")
        batch.drop_column("payout_account")
        batch.drop_column("seller_id")
    op.drop_index("idx_earnings_entries_payment", table_name="earnings_entries")
    op.drop_index("idx_earnings_entries_source", table_name="earnings_entries")
    op.drop_index("idx_earnings_entries_occurred_at", table_name="earnings_entries")
    op.drop_index("idx_earnings_entries_seller", table_name="earnings_entries")
    op.drop_table("earnings_entries")
    op.drop_table("payout_accounts")
    op.drop_index("uq_media_owner_invitations_open", table_name="media_owner_invitations")
    op.drop_table("media_owner_invitations")
