"""Hardening: a creator-set excerpt on content items (the preview readers see instead of
the body), and the request behind each refund (a repeated request finds its refund).

Revision ID: 0007_hardening
Revises: 0006_commerce
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_hardening"
down_revision: str | None = "0006_commerce"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("content") as batch:
        batch.add_column(sa.Column("excerpt", sa.Text(), nullable=True))
    with op.batch_alter_table("purchase_refunds") as batch:
        batch.add_column(sa.Column("request_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("status", sa.String(length=30), nullable=True))
    op.create_index("uq_purchase_refunds_request", "purchase_refunds",
                    ["purchase_id", "request_key"], unique=True,
                    postgresql_where=sa.text("request_key IS NOT NULL"),
                    sqlite_where=sa.text("request_key IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("uq_purchase_refunds_request", table_name="purchase_refunds")
    with op.batch_alter_table("purchase_refunds") as batch:
        batch.drop_column("status")
        batch.drop_column("request_key")
    with op.batch_alter_table("content") as batch:
        batch.drop_column("excerpt")
