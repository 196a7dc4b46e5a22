"""Phase 1: accounts, content, purchases, access, playback, settings, email, sessions, outbox.

Revision ID: 0001_phase1
Revises: <base>
Create Date: 2026-11-25
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sqlalchemy.types import JSONDocument, UTCDateTime

revision: str = "0001_phase1"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('full_name', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=50), nullable=False),
    sa.Column('profile_image_url', sa.Text(), nullable=True),
    sa.Column('bio', sa.Text(), nullable=True),
    sa.Column('email_verified_at', UTCDateTime(), nullable=True),
    sa.Column('email_verification_token', sa.String(length=255), nullable=True),
    sa.Column('email_verification_expires_at', UTCDateTime(), nullable=True),
    sa.Column('password_reset_token', sa.String(length=255), nullable=True),
    sa.Column('password_reset_expires_at', UTCDateTime(), nullable=True),
    sa.Column('stripe_customer_id', sa.String(length=255), nullable=True),
    sa.Column('stripe_connect_account_id', sa.String(length=255), nullable=True),
    sa.Column('disabled_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('deleted_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint("role IN ('platform_creator', 'platform_owner', 'media_owner', 'customer')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users'))
    )
    op.create_index('idx_users_deleted_at', 'users', ['deleted_at'], unique=False)
    op.create_index('idx_users_email_verification_token', 'users', ['email_verification_token'], unique=True)
    op.create_index('idx_users_password_reset_token', 'users', ['password_reset_token'], unique=True)
    op.create_index('idx_users_role', 'users', ['role'], unique=False)
    op.create_index('idx_users_stripe_customer_id', 'users', ['stripe_customer_id'], unique=True)
    op.create_index('uq_users_email_live', 'users', ['email'], unique=True, postgresql_where=sa.text('deleted_at IS NULL'), sqlite_where=sa.text('deleted_at IS NULL'))
    op.create_table('content_series',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('creator_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('slug', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('thumbnail_url', sa.Text(), nullable=True),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), server_default='usd', nullable=False),
    sa.Column('content_order', JSONDocument, server_default=sa.text("'[]'"), nullable=False),
    sa.Column('status', sa.String(length=50), server_default='draft', nullable=False),
    sa.Column('published_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('deleted_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'published', 'archived')", name=op.f('ck_content_series_status')),
    sa.CheckConstraint('price IS NULL OR price >= 0', name=op.f('ck_content_series_price_not_negative')),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_content_series_creator_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_series')),
    sa.UniqueConstraint('slug', name='uq_content_series_slug')
    )
    op.create_index('idx_series_creator_id', 'content_series', ['creator_id'], unique=False)
    op.create_table('content',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('creator_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('slug', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('content_type', sa.String(length=50), nullable=False),
    sa.Column('media_url', sa.Text(), nullable=True),
    sa.Column('media_duration_seconds', sa.Integer(), nullable=True),
    sa.Column('thumbnail_url', sa.Text(), nullable=True),
    sa.Column('content_body', sa.Text(), nullable=True),
    sa.Column('category', sa.String(length=100), nullable=True),
    sa.Column('tags', JSONDocument, server_default=sa.text("'[]'"), nullable=False),
    sa.Column('series_id', sa.Uuid(), nullable=True),
    sa.Column('visibility', sa.String(length=50), server_default='purchased_only', nullable=False),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), server_default='usd', nullable=False),
    sa.Column('status', sa.String(length=50), server_default='draft', nullable=False),
    sa.Column('published_at', UTCDateTime(), nullable=True),
    sa.Column('view_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('purchase_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('prerequisite_content_ids', JSONDocument, server_default=sa.text("'[]'"), nullable=False),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('deleted_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint("content_type IN ('video', 'audio', 'written')", name=op.f('ck_content_content_type')),
    sa.CheckConstraint("status IN ('draft', 'published', 'archived')", name=op.f('ck_content_status')),
    sa.CheckConstraint("visibility IN ('public', 'private', 'members_only', 'purchased_only')", name=op.f('ck_content_visibility')),
    sa.CheckConstraint('media_duration_seconds IS NULL OR media_duration_seconds >= 0', name=op.f('ck_content_duration')),
    sa.CheckConstraint('price IS NULL OR price >= 0', name=op.f('ck_content_price_not_negative')),
    sa.CheckConstraint('view_count >= 0 AND purchase_count >= 0', name=op.f('ck_content_counters_not_negative')),
    sa.ForeignKeyConstraint(['creator_id'], ['users.id'], name=op.f('fk_content_creator_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['series_id'], ['content_series.id'], name=op.f('fk_content_series_id_content_series'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content')),
    sa.UniqueConstraint('slug', name='uq_content_slug')
    )
    op.create_index('idx_content_catalog', 'content', ['published_at', 'id'], unique=False, postgresql_where=sa.text("status = 'published' AND deleted_at IS NULL"), sqlite_where=sa.text("status = 'published' AND deleted_at IS NULL"))
    op.create_index('idx_content_category', 'content', ['category'], unique=False)
    op.create_index('idx_content_creator_id', 'content', ['creator_id'], unique=False)
    op.create_index('idx_content_published_at', 'content', ['published_at'], unique=False)
    op.create_index('idx_content_series_id', 'content', ['series_id'], unique=False)
    op.create_index('idx_content_status', 'content', ['status'], unique=False)
    if _postgresql():
        op.create_index('idx_content_tags', 'content', ['tags'], unique=False, postgresql_using='gin')
    op.create_table('purchases',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('content_id', sa.Uuid(), nullable=True),
    sa.Column('series_id', sa.Uuid(), nullable=True),
    sa.Column('amount_paid', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='usd', nullable=False),
    sa.Column('stripe_payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('platform_fee_amount', sa.Numeric(precision=10, scale=2), server_default='0', nullable=False),
    sa.Column('creator_payout_amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('status', sa.String(length=50), server_default='pending', nullable=False),
    sa.Column('purchased_at', UTCDateTime(), nullable=True),
    sa.Column('refunded_at', UTCDateTime(), nullable=True),
    sa.Column('refund_reason', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'completed', 'refunded', 'failed')", name=op.f('ck_purchases_status')),
    sa.CheckConstraint('(content_id IS NULL) <> (series_id IS NULL)', name=op.f('ck_purchases_one_item')),
    sa.CheckConstraint('amount_paid >= 0 AND platform_fee_amount >= 0 AND creator_payout_amount >= 0', name=op.f('ck_purchases_amounts_not_negative')),
    sa.ForeignKeyConstraint(['content_id'], ['content.id'], name=op.f('fk_purchases_content_id_content'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], name=op.f('fk_purchases_customer_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['series_id'], ['content_series.id'], name=op.f('fk_purchases_series_id_content_series'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchases')),
    sa.UniqueConstraint('stripe_payment_intent_id', name='uq_purchases_stripe_payment_intent_id')
    )
    op.create_index('idx_purchases_content_id', 'purchases', ['content_id'], unique=False)
    op.create_index('idx_purchases_created_at', 'purchases', ['created_at'], unique=False)
    op.create_index('idx_purchases_customer_id', 'purchases', ['customer_id'], unique=False)
    op.create_index('idx_purchases_series_id', 'purchases', ['series_id'], unique=False)
    op.create_index('idx_purchases_status', 'purchases', ['status'], unique=False)
    op.create_index('uq_purchases_open_content', 'purchases', ['customer_id', 'content_id'], unique=True, postgresql_where=sa.text("status IN ('pending', 'completed') AND content_id IS NOT NULL"), sqlite_where=sa.text("status IN ('pending', 'completed') AND content_id IS NOT NULL"))
    op.create_index('uq_purchases_open_series', 'purchases', ['customer_id', 'series_id'], unique=True, postgresql_where=sa.text("status IN ('pending', 'completed') AND series_id IS NOT NULL"), sqlite_where=sa.text("status IN ('pending', 'completed') AND series_id IS NOT NULL"))
    op.create_table('content_access',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('content_id', sa.Uuid(), nullable=False),
    sa.Column('access_type', sa.String(length=50), nullable=False),
    sa.Column('granted_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('last_accessed_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("access_type IN ('purchased', 'subscription', 'complimentary', 'preview')", name=op.f('ck_content_access_access_type')),
    sa.ForeignKeyConstraint(['content_id'], ['content.id'], name=op.f('fk_content_access_content_id_content'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_content_access_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_access')),
    sa.UniqueConstraint('user_id', 'content_id', 'access_type', name='uq_content_access_user_content_type')
    )
    op.create_index('idx_content_access_content_id', 'content_access', ['content_id'], unique=False)
    op.create_index('idx_content_access_expires_at', 'content_access', ['expires_at'], unique=False)
    op.create_index('idx_content_access_user_id', 'content_access', ['user_id'], unique=False)
    op.create_table('video_playback',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('content_id', sa.Uuid(), nullable=False),
    sa.Column('position_seconds', sa.Integer(), server_default='0', nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('completed', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint('position_seconds <= duration_seconds', name=op.f('ck_video_playback_position_within')),
    sa.CheckConstraint('position_seconds >= 0 AND duration_seconds >= 0', name=op.f('ck_video_playback_not_negative')),
    sa.ForeignKeyConstraint(['content_id'], ['content.id'], name=op.f('fk_video_playback_content_id_content'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_video_playback_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_video_playback')),
    sa.UniqueConstraint('user_id', 'content_id', name='uq_video_playback_user_content')
    )
    op.create_index('idx_video_playback_content_id', 'video_playback', ['content_id'], unique=False)
    op.create_index('idx_video_playback_user_recent', 'video_playback', ['user_id', 'updated_at'], unique=False)
    op.create_table('platform_settings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('singleton', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('platform_name', sa.String(length=255), server_default='My Platform', nullable=False),
    sa.Column('logo_url', sa.Text(), nullable=True),
    sa.Column('primary_color', sa.String(length=7), server_default='#3b82f6', nullable=False),
    sa.Column('hero_title', sa.String(length=500), nullable=True),
    sa.Column('hero_subtitle', sa.Text(), nullable=True),
    sa.Column('hero_background_url', sa.Text(), nullable=True),
    sa.Column('hero_cta_text', sa.String(length=100), nullable=True),
    sa.Column('hero_cta_link', sa.String(length=500), nullable=True),
    sa.Column('featured_content_ids', JSONDocument, server_default=sa.text("'[]'"), nullable=False),
    sa.Column('contact_email', sa.String(length=255), nullable=True),
    sa.Column('social_links', JSONDocument, server_default=sa.text("'{}'"), nullable=False),
    sa.Column('about_content', sa.Text(), nullable=True),
    sa.Column('stripe_account_id', sa.String(length=255), nullable=True),
    sa.Column('email_from_name', sa.String(length=255), nullable=True),
    sa.Column('timezone', sa.String(length=50), server_default='UTC', nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint('singleton', name=op.f('ck_platform_settings_singleton')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_settings')),
    sa.UniqueConstraint('singleton', name='uq_platform_settings_singleton')
    )
    op.create_table('email_logs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('recipient_email', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('email_type', sa.String(length=100), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=50), server_default='pending', nullable=False),
    sa.Column('provider', sa.String(length=50), nullable=True),
    sa.Column('provider_message_id', sa.String(length=255), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('sent_at', UTCDateTime(), nullable=True),
    sa.Column('delivered_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'sent', 'delivered', 'bounced', 'failed')", name=op.f('ck_email_logs_status')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_email_logs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_logs'))
    )
    op.create_index('idx_email_logs_created_at', 'email_logs', ['created_at'], unique=False)
    op.create_index('idx_email_logs_email_type', 'email_logs', ['email_type'], unique=False)
    op.create_index('idx_email_logs_status', 'email_logs', ['status'], unique=False)
    op.create_index('idx_email_logs_user_id', 'email_logs', ['user_id'], unique=False)
    op.create_table('auth_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', UTCDateTime(), nullable=True),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=500), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auth_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_sessions')),
    sa.UniqueConstraint('token_hash', name='uq_auth_sessions_token_hash')
    )
    op.create_index('idx_auth_sessions_user_id', 'auth_sessions', ['user_id'], unique=False)
    op.create_table('auth_throttle',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint('failures >= 0', name=op.f('ck_auth_throttle_failures_not_negative')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_auth_throttle'))
    )
    op.create_table('outbox_messages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event_type', sa.String(length=200), nullable=False),
    sa.Column('handler', sa.String(length=200), nullable=False),
    sa.Column('payload', JSONDocument, nullable=False),
    sa.Column('status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('processed_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'processed', 'dead')", name=op.f('ck_outbox_messages_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages'))
    )
    op.create_index('idx_outbox_messages_due', 'outbox_messages', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
    op.create_table('webhook_events',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('provider', sa.String(length=50), nullable=False),
    sa.Column('event_type', sa.String(length=255), nullable=False),
    sa.Column('processed_at', UTCDateTime(), nullable=False),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_events'))
    )
    op.create_index('idx_webhook_events_created_at', 'webhook_events', ['created_at'], unique=False)
    # The one settings row always exists, so reads never need to create it.
    settings = sa.table("platform_settings", sa.column("id", sa.Uuid()))
    op.bulk_insert(settings, [{"id": uuid.uuid4()}])


def downgrade() -> None:
    op.drop_index('idx_webhook_events_created_at', table_name='webhook_events')
    op.drop_table('webhook_events')
    op.drop_index('idx_outbox_messages_due', table_name='outbox_messages', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
    op.drop_table('outbox_messages')
    op.drop_table('auth_throttle')
    op.drop_index('idx_auth_sessions_user_id', table_name='auth_sessions')
    op.drop_table('auth_sessions')
    op.drop_index('idx_email_logs_user_id', table_name='email_logs')
    op.drop_index('idx_email_logs_status', table_name='email_logs')
    op.drop_index('idx_email_logs_email_type', table_name='email_logs')
    op.drop_index('idx_email_logs_created_at', table_name='email_logs')
    op.drop_table('email_logs')
    op.drop_table('platform_settings')
    op.drop_index('idx_video_playback_user_recent', table_name='video_playback')
    op.drop_index('idx_video_playback_content_id', table_name='video_playback')
    op.drop_table('video_playback')
    op.drop_index('idx_content_access_user_id', table_name='content_access')
    op.drop_index('idx_content_access_expires_at', table_name='content_access')
    op.drop_index('idx_content_access_content_id', table_name='content_access')
    op.drop_table('content_access')
    op.drop_index('uq_purchases_open_series', table_name='purchases', postgresql_where=sa.text("status IN ('pending', 'completed') AND series_id IS NOT NULL"), sqlite_where=sa.text("status IN ('pending', 'completed') AND series_id IS NOT NULL"))
    op.drop_index('uq_purchases_open_content', table_name='purchases', postgresql_where=sa.text("status IN ('pending', 'completed') AND content_id IS NOT NULL"), sqlite_where=sa.text("status IN ('pending', 'completed') AND content_id IS NOT NULL"))
    op.drop_index('idx_purchases_status', table_name='purchases')
    op.drop_index('idx_purchases_series_id', table_name='purchases')
    op.drop_index('idx_purchases_customer_id', table_name='purchases')
    op.drop_index('idx_purchases_created_at', table_name='purchases')
    op.drop_index('idx_purchases_content_id', table_name='purchases')
    op.drop_table('purchases')
    if _postgresql():
        op.drop_index('idx_content_tags', table_name='content', postgresql_using='gin')
    op.drop_index('idx_content_status', table_name='content')
    op.drop_index('idx_content_series_id', table_name='content')
    op.drop_index('idx_content_published_at', table_name='content')
    op.drop_index('idx_content_creator_id', table_name='content')
    op.drop_index('idx_content_category', table_name='content')
    op.drop_index('idx_content_catalog', table_name='content', postgresql_where=sa.text("status = 'published' AND deleted_at IS NULL"), sqlite_where=sa.text("status = 'published' AND deleted_at IS NULL"))
    op.drop_table('content')
    op.drop_index('idx_series_creator_id', table_name='content_series')
    op.drop_table('content_series')
    op.drop_index('uq_users_email_live', table_name='users', postgresql_where=sa.text('deleted_at IS NULL'), sqlite_where=sa.text('deleted_at IS NULL'))
    op.drop_index('idx_users_stripe_customer_id', table_name='users')
    op.drop_index('idx_users_role', table_name='users')
    op.drop_index('idx_users_password_reset_token', table_name='users')
    op.drop_index('idx_users_email_verification_token', table_name='users')
    op.drop_index('idx_users_deleted_at', table_name='users')
    op.drop_table('users')
