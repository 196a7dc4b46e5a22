"""Phase 2: subscription tiers, subscriptions, credits, offerings and bookings.

Revision ID: 0002_phase2
Revises: 0001_phase1
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sqlalchemy.types import JSONDocument, UTCDateTime

revision: str = "0002_phase2"
down_revision: str | None = "0001_phase1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table('subscription_tiers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('price_monthly', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('price_yearly', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), server_default='usd', nullable=False),
    sa.Column('category_access', JSONDocument, server_default=sa.text("'[]'"), nullable=False),
    sa.Column('full_catalog_access', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('offering_access_rules', JSONDocument, server_default=sa.text("'[]'"), nullable=False),
    sa.Column('monthly_credits', sa.Integer(), server_default='0', nullable=False),
    sa.Column('credit_rollover', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint('(price_monthly IS NULL OR price_monthly >= 0) AND (price_yearly IS NULL OR price_yearly >= 0)', name=op.f('ck_subscription_tiers_prices_not_negative')),
    sa.CheckConstraint('monthly_credits >= 0', name=op.f('ck_subscription_tiers_credits_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_tiers'))
    )
    op.create_index('idx_subscription_tiers_active', 'subscription_tiers', ['active'], unique=False)
    if _postgresql():
        op.create_index('idx_subscription_tiers_category_access', 'subscription_tiers', ['category_access'], unique=False, postgresql_using='gin')
    op.create_table('subscriptions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('tier_id', sa.Uuid(), nullable=False),
    sa.Column('stripe_subscription_id', sa.String(length=255), nullable=False),
    sa.Column('billing_period', sa.String(length=20), nullable=False),
    sa.Column('current_period_start', UTCDateTime(), nullable=False),
    sa.Column('current_period_end', UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=50), nullable=False),
    sa.Column('cancel_at_period_end', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('trial_end', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('canceled_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint("billing_period IN ('monthly', 'yearly')", name=op.f('ck_subscriptions_billing_period')),
    sa.CheckConstraint("status IN ('active', 'past_due', 'canceled', 'trialing')", name=op.f('ck_subscriptions_status')),
    sa.CheckConstraint('current_period_end >= current_period_start', name=op.f('ck_subscriptions_period_order')),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], name=op.f('fk_subscriptions_customer_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tier_id'], ['subscription_tiers.id'], name=op.f('fk_subscriptions_tier_id_subscription_tiers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('stripe_subscription_id', name='uq_subscriptions_stripe_subscription_id')
    )
    op.create_index('idx_subscriptions_customer_id', 'subscriptions', ['customer_id'], unique=False)
    op.create_index('idx_subscriptions_status', 'subscriptions', ['status'], unique=False)
    op.create_table('credit_balances',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('current_balance', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lifetime_earned', sa.Integer(), server_default='0', nullable=False),
    sa.Column('lifetime_spent', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint('current_balance >= 0', name=op.f('ck_credit_balances_balance_not_negative')),
    sa.CheckConstraint('lifetime_earned >= 0 AND lifetime_spent >= 0', name=op.f('ck_credit_balances_lifetime')),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], name=op.f('fk_credit_balances_customer_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_balances')),
    sa.UniqueConstraint('customer_id', name='uq_credit_balances_customer_id')
    )
    op.create_table('offerings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('creator_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('slug', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('offering_type', sa.String(length=50), nullable=False),
    sa.Column('capacity_type', sa.String(length=50), nullable=False),
    sa.Column('max_participants', sa.Integer(), nullable=True),
    sa.Column('delivery_method', sa.String(length=50), nullable=False),
    sa.Column('location_details', sa.Text(), nullable=True),
    sa.Column('video_conference_provider', sa.String(length=50), nullable=True),
    sa.Column('schedule', JSONDocument, nullable=False),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), server_default='usd', nullable=False),
    sa.Column('credit_cost', sa.Integer(), nullable=True),
    sa.Column('payment_options', JSONDocument, server_default=sa.text("'{}'"), nullable=False),
    sa.Column('status', sa.String(length=50), server_default='draft', nullable=False),
    sa.Column('published_at', UTCDateTime(), nullable=True),
    sa.Column('registration_deadline', UTCDateTime(), nullable=True),
    sa.Column('portal_config', JSONDocument, server_default=sa.text("'{}'"), nullable=False),
    sa.Column('booking_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('deleted_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint("(capacity_type = 'unlimited' AND max_participants IS NULL) OR (capacity_type <> 'unlimited' AND max_participants IS NOT NULL AND max_participants > 0)", name=op.f('ck_offerings_capacity')),
    sa.CheckConstraint("capacity_type IN ('one_on_one', 'small_group', 'large_group', 'unlimited')", name=op.f('ck_offerings_capacity_type')),
    sa.CheckConstraint("delivery_method IN ('online', 'in_person', 'hybrid', 'self_guided')", name=op.f('ck_offerings_delivery_method')),
    sa.CheckConstraint("offering_type IN ('one_time_event', 'multi_day_program', 'recurring_fixed', 'recurring_bookable', 'cohort_course', 'retreat')", name=op.f('ck_offerings_offering_type')),
    sa.CheckConstraint("status IN ('draft', 'published', 'archived', 'canceled')", name=op.f('ck_offerings_status')),
    sa.CheckConstraint('booking_count >= 0', name=op.f('ck_offerings_booking_count_not_negative')),
    sa.CheckConstraint('credit_cost IS NULL OR credit_cost > 0', name=op.f('ck_offerings_credit_cost')),
    sa.CheckConstraint('price IS NULL OR price >= 0', name=op.f('ck_offerings_price_not_negative')),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_offerings_creator_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offerings')),
    sa.UniqueConstraint('slug', name='uq_offerings_slug')
    )
    op.create_index('idx_offerings_creator_id', 'offerings', ['creator_id'], unique=False)
    op.create_index('idx_offerings_status', 'offerings', ['status'], unique=False)
    op.create_index('idx_offerings_type', 'offerings', ['offering_type'], unique=False)
    op.create_table('offering_bookings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('offering_id', sa.Uuid(), nullable=False),
    sa.Column('payment_method', sa.String(length=50), nullable=False),
    sa.Column('amount_paid', sa.Numeric(precision=10, scale=2), server_default='0', nullable=False),
    sa.Column('credits_used', sa.Integer(), server_default='0', nullable=False),
    sa.Column('stripe_payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('booking_details', JSONDocument, server_default=sa.text("'{}'"), nullable=False),
    sa.Column('status', sa.String(length=50), server_default='confirmed', nullable=False),
    sa.Column('canceled_at', UTCDateTime(), nullable=True),
    sa.Column('cancellation_reason', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("payment_method IN ('purchase', 'subscription', 'credits')", name=op.f('ck_offering_bookings_payment_method')),
    sa.CheckConstraint("status IN ('confirmed', 'canceled', 'completed', 'no_show')", name=op.f('ck_offering_bookings_status')),
    sa.CheckConstraint('amount_paid >= 0 AND credits_used >= 0', name=op.f('ck_offering_bookings_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], name=op.f('fk_offering_bookings_customer_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['offering_id'], ['offerings.id'], name=op.f('fk_offering_bookings_offering_id_offerings'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offering_bookings'))
    )
    op.create_index('idx_offering_bookings_customer_id', 'offering_bookings', ['customer_id'], unique=False)
    op.create_index('idx_offering_bookings_offering_id', 'offering_bookings', ['offering_id'], unique=False)
    op.create_index('idx_offering_bookings_status', 'offering_bookings', ['status'], unique=False)
    op.create_index('idx_offering_bookings_stripe_payment_intent_id', 'offering_bookings', ['stripe_payment_intent_id'], unique=True)
    op.create_table('credit_transactions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Uuid(), nullable=True),
    sa.Column('offering_booking_id', sa.Uuid(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("type IN ('earned_subscription', 'earned_purchase', 'spent_offering', 'expired', 'adjustment')", name=op.f('ck_credit_transactions_type')),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_credit_transactions_amount_not_zero')),
    sa.CheckConstraint('balance_after >= 0', name=op.f('ck_credit_transactions_balance_after_not_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], name=op.f('fk_credit_transactions_customer_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['offering_booking_id'], ['offering_bookings.id'], name=op.f('fk_credit_transactions_offering_booking_id_offering_bookings'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_credit_transactions_subscription_id_subscriptions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_transactions'))
    )
    op.create_index('idx_credit_transactions_created_at', 'credit_transactions', ['created_at'], unique=False)
    op.create_index('idx_credit_transactions_customer_id', 'credit_transactions', ['customer_id'], unique=False)


def downgrade() -> None:
    op.drop_index('idx_credit_transactions_customer_id', table_name='credit_transactions')
    op.drop_index('idx_credit_transactions_created_at', table_name='credit_transactions')
    op.drop_table('credit_transactions')
    op.drop_index('idx_offering_bookings_stripe_payment_intent_id', table_name='offering_bookings')
    op.drop_index('idx_offering_bookings_status', table_name='offering_bookings')
    op.drop_index('idx_offering_bookings_offering_id', table_name='offering_bookings')
    op.drop_index('idx_offering_bookings_customer_id', table_name='offering_bookings')
    op.drop_table('offering_bookings')
    op.drop_index('idx_offerings_type', table_name='offerings')
    op.drop_index('idx_offerings_status', table_name='offerings')
    op.drop_index('idx_offerings_creator_id', table_name='offerings')
    op.drop_table('offerings')
    op.drop_table('credit_balances')
    op.drop_index('idx_subscriptions_status', table_name='subscriptions')
    op.drop_index('idx_subscriptions_customer_id', table_name='subscriptions')
    op.drop_table('subscriptions')
    if _postgresql():
        op.drop_index('idx_subscription_tiers_category_access', table_name='subscription_tiers', postgresql_using='gin')
    op.drop_index('idx_subscription_tiers_active', table_name='subscription_tiers')
    op.drop_table('subscription_tiers')
