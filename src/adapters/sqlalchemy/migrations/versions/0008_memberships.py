"""Memberships and credits: tier mirrors and trial/rollover settings, the subscription
lifecycle columns, the credit ledger's allocations, and the membership grace setting.

Revision ID: 0008_memberships
Revises: 0007_hardening
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sqlalchemy.types import UTCDateTime, UUIDKey

revision: str = "0008_memberships"
down_revision: str | None = "0007_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('active', 'past_due', 'canceled', 'trialing')"
NEW_STATUSES = "status IN ('active', 'past_due', 'canceled', 'trialing', 'incomplete')"
OLD_TYPES = ("type IN ('earned_subscription', 'earned_purchase', 'spent_offering', 'expired', "
             "'adjustment')")
NEW_TYPES = ("type IN ('earned_subscription', 'earned_purchase', 'spent_offering', 'expired', "
             "'adjustment', 'refunded_offering')")
LIVE = "status IN ('active', 'past_due', 'trialing', 'incomplete')"


def upgrade() -> None:
    with op.batch_alter_table("subscription_tiers") as batch:
        batch.add_column(sa.Column("trial_days", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("credit_rollover_cap", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("stripe_product_id", sa.String(255), nullable=True))
        batch.add_column(sa.Column("stripe_price_monthly_id", sa.String(255), nullable=True))
        batch.add_column(sa.Column("stripe_price_yearly_id", sa.String(255), nullable=True))
        batch.create_check_constraint(op.f("ck_subscription_tiers_trial_days"), "trial_days >= 0 AND trial_days <= 730")
        batch.create_check_constraint(op.f("ck_subscription_tiers_rollover_cap"), "credit_rollover_cap IS NULL OR credit_rollover_cap >= 0")
        batch.create_check_constraint(op.f("ck_subscription_tiers_one_price"), "price_monthly IS NOT NULL OR price_yearly IS NOT NULL")

    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("stripe_subscription_id", existing_type=sa.String(255),
                           nullable=True)
        batch.add_column(sa.Column("past_due_since", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("grace_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("synced_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("paid_invoice_id", sa.String(255), nullable=True))
        batch.add_column(sa.Column("paid_period_start", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("payment_method_hint", sa.String(64), nullable=True))
        batch.drop_constraint(op.f("ck_subscriptions_status"), type_="check")
        batch.create_check_constraint(op.f("ck_subscriptions_status"), NEW_STATUSES)
    op.create_index("uq_subscriptions_live_customer", "subscriptions", ["customer_id"],
                    unique=True, postgresql_where=sa.text(LIVE), sqlite_where=sa.text(LIVE))

    with op.batch_alter_table("credit_transactions") as batch:
        batch.add_column(sa.Column("entry_number", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("source_key", sa.String(255), nullable=True))
        batch.add_column(sa.Column("actor_id", UUIDKey, nullable=True))
        batch.create_foreign_key(op.f("fk_credit_transactions_actor_id_users"), "users",
                                 ["actor_id"], ["id"], ondelete="SET NULL")
        batch.drop_constraint(op.f("ck_credit_transactions_type"), type_="check")
        batch.create_check_constraint(op.f("ck_credit_transactions_type"), NEW_TYPES)
    op.create_index("uq_credit_transactions_source_key", "credit_transactions",
                    ["source_key"], unique=True)
    op.create_index("uq_credit_transactions_entry", "credit_transactions",
                    ["customer_id", "entry_number"], unique=True)

    op.create_table(
        "credit_allocations",
        sa.Column("id", UUIDKey, nullable=False),
        sa.Column("customer_id", UUIDKey, nullable=False),
        sa.Column("transaction_id", UUIDKey, nullable=False),
        sa.Column("grant_id", UUIDKey, nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.CheckConstraint("amount <> 0", name="ck_credit_allocations_amount_not_zero"),
        sa.ForeignKeyConstraint(["customer_id"], ["users.id"], ondelete="RESTRICT",
                                name="fk_credit_allocations_customer_id_users"),
        sa.ForeignKeyConstraint(["transaction_id"], ["credit_transactions.id"],
                                ondelete="RESTRICT",
                                name="fk_credit_allocations_transaction_id_credit_transactions"),
        sa.ForeignKeyConstraint(["grant_id"], ["credit_transactions.id"], ondelete="RESTRICT",
                                name="fk_credit_allocations_grant_id_credit_transactions"),
        sa.PrimaryKeyConstraint("id", name="pk_credit_allocations"),
    )
    op.create_index("idx_credit_allocations_grant_id", "credit_allocations", ["grant_id"])
    op.create_index("idx_credit_allocations_transaction_id", "credit_allocations",
                    ["transaction_id"])
    op.create_index("idx_credit_allocations_customer_id", "credit_allocations",
                    ["customer_id"])

    with op.batch_alter_table("platform_settings") as batch:
        batch.add_column(sa.Column("membership_grace_days", sa.Integer(), nullable=False,
                                   server_default="7"))
        batch.add_column(sa.Column("sandbox_clock_offset_seconds", sa.BigInteger(),
                                   nullable=False, server_default="0"))
        batch.create_check_constraint(op.f("ck_platform_settings_grace_days"), "membership_grace_days >= 0 AND membership_grace_days <= 60")


def downgrade() -> None:
    with op.batch_alter_table("platform_settings") as batch:
        batch.drop_constraint(op.f("ck_platform_settings_grace_days"), type_="check")
        batch.drop_column("sandbox_clock_offset_seconds")
        batch.drop_column("membership_grace_days")
    op.drop_index("idx_credit_allocations_customer_id", table_name="credit_allocations")
    op.drop_index("idx_credit_allocations_transaction_id", table_name="credit_allocations")
    op.drop_index("idx_credit_allocations_grant_id", table_name="credit_allocations")
    op.drop_table("credit_allocations")
    op.drop_index("uq_credit_transactions_entry", table_name="credit_transactions")
    op.drop_index("uq_credit_transactions_source_key", table_name="credit_transactions")
    with op.batch_alter_table("credit_transactions") as batch:
        batch.drop_constraint(op.f("ck_credit_transactions_type"), type_="check")
        batch.create_check_constraint(op.f("ck_credit_transactions_type"), OLD_TYPES)
        batch.drop_constraint(op.f("fk_credit_transactions_actor_id_users"), type_="foreignkey")
        batch.drop_column("actor_id")
        batch.drop_column("source_key")
        batch.drop_column("entry_number")
    op.drop_index("uq_subscriptions_live_customer", table_name="subscriptions")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_constraint(op.f("ck_subscriptions_status"), type_="check")
        batch.create_check_constraint(op.f("ck_subscriptions_status"), OLD_STATUSES)
        for column in ("payment_method_hint", "paid_period_start", "paid_invoice_id",
                       "synced_at", "grace_until", "past_due_since"):
            batch.drop_column(column)
        batch.alter_column("stripe_subscription_id", existing_type=sa.String(255),
                           nullable=False)
    with op.batch_alter_table("subscription_tiers") as batch:
        batch.drop_constraint(op.f("ck_subscription_tiers_one_price"), type_="check")
        batch.drop_constraint(op.f("ck_subscription_tiers_rollover_cap"), type_="check")
        batch.drop_constraint(op.f("ck_subscription_tiers_trial_days"), type_="check")
        for column in ("stripe_price_yearly_id", "stripe_price_monthly_id", "stripe_product_id",
                       "credit_rollover_cap", "trial_days"):
            batch.drop_column(column)
