"""Phase 3: offering portals and resources, notifications, analytics events.

Revision ID: 0003_phase3
Revises: 0002_phase2
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sqlalchemy.types import JSONDocument, UTCDateTime

revision: str = "0003_phase3"
down_revision: str | None = "0002_phase2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table('offering_portal_access',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('offering_id', sa.Uuid(), nullable=False),
    sa.Column('granted_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('last_accessed_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['offering_bookings.id'], name=op.f('fk_offering_portal_access_booking_id_offering_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['offering_id'], ['offerings.id'], name=op.f('fk_offering_portal_access_offering_id_offerings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_offering_portal_access_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offering_portal_access')),
    sa.UniqueConstraint('booking_id', name='uq_offering_portal_access_booking_id')
    )
    op.create_index('idx_offering_portal_access_offering_id', 'offering_portal_access', ['offering_id'], unique=False)
    op.create_index('idx_offering_portal_access_user_id', 'offering_portal_access', ['user_id'], unique=False)
    op.create_table('offering_resources',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('offering_id', sa.Uuid(), nullable=False),
    sa.Column('resource_type', sa.String(length=50), nullable=False),
    sa.Column('content_id', sa.Uuid(), nullable=True),
    sa.Column('file_url', sa.Text(), nullable=True),
    sa.Column('link_url', sa.Text(), nullable=True),
    sa.Column('text_content', sa.Text(), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('available_when', sa.String(length=50), server_default='during', nullable=False),
    sa.Column('unlock_at', UTCDateTime(), nullable=True),
    sa.Column('display_order', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("(resource_type = 'content' AND content_id IS NOT NULL) OR (resource_type = 'file' AND file_url IS NOT NULL) OR (resource_type = 'link' AND link_url IS NOT NULL) OR (resource_type = 'text' AND text_content IS NOT NULL)", name=op.f('ck_offering_resources_reference')),
    sa.CheckConstraint("available_when IN ('before', 'during', 'after', 'always')", name=op.f('ck_offering_resources_available_when')),
    sa.CheckConstraint("resource_type IN ('content', 'file', 'link', 'text')", name=op.f('ck_offering_resources_resource_type')),
    sa.ForeignKeyConstraint(['content_id'], ['content.id'], name=op.f('fk_offering_resources_content_id_content'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['offering_id'], ['offerings.id'], name=op.f('fk_offering_resources_offering_id_offerings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offering_resources'))
    )
    op.create_index('idx_offering_resources_display_order', 'offering_resources', ['display_order'], unique=False)
    op.create_index('idx_offering_resources_offering_id', 'offering_resources', ['offering_id', 'display_order'], unique=False)
    op.create_table('notifications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('action_url', sa.Text(), nullable=True),
    sa.Column('action_label', sa.String(length=100), nullable=True),
    sa.Column('read_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    op.create_index('idx_notifications_created_at', 'notifications', ['created_at'], unique=False)
    op.create_index('idx_notifications_read_at', 'notifications', ['read_at'], unique=False)
    op.create_index('idx_notifications_user_id', 'notifications', ['user_id', 'created_at'], unique=False)
    op.create_table('events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('session_id', sa.String(length=255), nullable=True),
    sa.Column('event_type', sa.String(length=100), nullable=False),
    sa.Column('event_data', JSONDocument, server_default=sa.text("'{}'"), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.Text(), nullable=True),
    sa.Column('referrer', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_events_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    op.create_index('idx_events_created_at', 'events', ['created_at'], unique=False)
    op.create_index('idx_events_type', 'events', ['event_type'], unique=False)
    op.create_index('idx_events_user_id', 'events', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('idx_events_user_id', table_name='events')
    op.drop_index('idx_events_type', table_name='events')
    op.drop_index('idx_events_created_at', table_name='events')
    op.drop_table('events')
    op.drop_index('idx_notifications_user_id', table_name='notifications')
    op.drop_index('idx_notifications_read_at', table_name='notifications')
    op.drop_index('idx_notifications_created_at', table_name='notifications')
    op.drop_table('notifications')
    op.drop_index('idx_offering_resources_offering_id', table_name='offering_resources')
    op.drop_index('idx_offering_resources_display_order', table_name='offering_resources')
    op.drop_table('offering_resources')
    op.drop_index('idx_offering_portal_access_user_id', table_name='offering_portal_access')
    op.drop_index('idx_offering_portal_access_offering_id', table_name='offering_portal_access')
    op.drop_table('offering_portal_access')
