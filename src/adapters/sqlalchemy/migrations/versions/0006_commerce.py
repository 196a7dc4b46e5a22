"""Commerce bookkeeping: recorded refunds, and Idempotency-Keys of our write endpoints.

Revision ID: 0006_commerce
Revises: 0005_catalog_reads
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sqlalchemy.types import UTCDateTime

revision: str = "0006_commerce"
down_revision: str | None = "0005_catalog_reads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "purchase_refunds",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("purchase_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=sa.text("CURRENT_TIMESTAMP"),
                  nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_purchase_refunds_amount_positive")),
        sa.ForeignKeyConstraint(["purchase_id"], ["purchases.id"],
                                name=op.f("fk_purchase_refunds_purchase_id_purchases"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_refunds")),
    )
    op.create_index("idx_purchase_refunds_purchase_id", "purchase_refunds", ["purchase_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=50), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=sa.text("CURRENT_TIMESTAMP"),
                  nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_idempotency_keys_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "scope", "key", name="pk_idempotency_keys"),
    )
    op.create_index("idx_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("idx_idempotency_keys_created_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index("idx_purchase_refunds_purchase_id", table_name="purchase_refunds")
    op.drop_table("purchase_refunds")
