"""Phase 4: API keys, daily analytics aggregates, white-label settings.

Revision ID: 0004_phase4
Revises: 0003_phase3
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sqlalchemy.types import JSONDocument, UTCDateTime

revision: str = "0004_phase4"
down_revision: str | None = "0003_phase3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table('api_keys',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', JSONDocument, server_default=sa.text("'[]'"), nullable=False),
    sa.Column('last_used_at', UTCDateTime(), nullable=True),
    sa.Column('expires_at', UTCDateTime(), nullable=True),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name='uq_api_keys_key_hash')
    )
    op.create_index('idx_api_keys_user_id', 'api_keys', ['user_id'], unique=False)
    op.create_table('analytics_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('metric', sa.String(length=100), nullable=False),
    sa.Column('dimension', sa.String(length=255), nullable=False),
    sa.Column('value', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False),
    sa.Column('updated_at', UTCDateTime(), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.PrimaryKeyConstraint('day', 'metric', 'dimension', name=op.f('pk_analytics_daily'))
    )
    with op.batch_alter_table("platform_settings") as batch:
        batch.add_column(sa.Column("custom_domain", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("custom_css", sa.Text(), nullable=True))
        batch.add_column(sa.Column("hide_platform_branding", sa.Boolean(),
                                   server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("platform_settings") as batch:
        batch.drop_column("hide_platform_branding")
        batch.drop_column("custom_css")
        batch.drop_column("custom_domain")
    op.drop_table('analytics_daily')
    op.drop_index('idx_api_keys_user_id', table_name='api_keys')
    op.drop_table('api_keys')
