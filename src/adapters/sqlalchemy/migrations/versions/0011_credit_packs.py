"""Credit packs: credits sold for money, bought through the ordinary purchase path.

A purchase is now of a content item, a series or a credit pack (exactly one), and a
pack purchase keeps the credits and validity it grants. The downgrade refuses while
pack purchases exist: dropping them would erase payments.

Revision ID: 0011_credit_packs
Revises: 0010_installments
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sqlalchemy.types import UTCDateTime, UUIDKey

revision: str = "0011_credit_packs"
down_revision: str | None = "0010_installments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ONE_ITEM = "(content_id IS NULL) <> (series_id IS NULL)"
ONE_ITEM = ("(CASE WHEN content_id IS NULL THEN 0 ELSE 1 END) + "
            "(CASE WHEN series_id IS NULL THEN 0 ELSE 1 END) + "
            "(CASE WHEN credit_pack_id IS NULL THEN 0 ELSE 1 END) = 1")
PACK_TERMS = ("(credit_pack_id IS NULL) = (pack_credits IS NULL) AND "
              "(pack_credits IS NULL OR pack_credits > 0) AND "
              "(pack_valid_days IS NULL OR pack_valid_days > 0)")
PENDING_PACK = "status = 'pending' AND credit_pack_id IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "credit_packs",
        sa.Column("id", UUIDKey, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default="usd"),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime, nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.Column("updated_at", UTCDateTime, nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.CheckConstraint("price > 0", name=op.f("ck_credit_packs_price_positive")),
        sa.CheckConstraint("credits > 0", name=op.f("ck_credit_packs_credits_positive")),
        sa.CheckConstraint("valid_days IS NULL OR valid_days > 0",
                           name=op.f("ck_credit_packs_valid_days_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_packs")),
    )
    op.create_index("idx_credit_packs_active", "credit_packs", ["active"])
    with op.batch_alter_table("purchases") as batch:
        batch.add_column(sa.Column("credit_pack_id", UUIDKey, nullable=True))
        batch.add_column(sa.Column("pack_credits", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pack_valid_days", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_purchases_credit_pack_id_credit_packs"),
                                 "credit_packs", ["credit_pack_id"], ["id"],
                                 ondelete="RESTRICT")
        batch.drop_constraint(op.f("ck_purchases_one_item"), type_="check")
        batch.create_check_constraint(op.f("ck_purchases_one_item"), ONE_ITEM)
        batch.create_check_constraint(op.f("ck_purchases_pack_terms"), PACK_TERMS)
    op.create_index("uq_purchases_open_pack", "purchases", ["customer_id", "credit_pack_id"],
                    unique=True, postgresql_where=sa.text(PENDING_PACK),
                    sqlite_where=sa.text(PENDING_PACK))


def downgrade() -> None:
    bind = op.get_bind()
    sold = bind.execute(sa.text(
        "SELECT count(*) FROM purchases WHERE credit_pack_id IS NOT NULL")).scalar_one()
    if sold:
        raise RuntimeError(f"{sold} credit pack purchases exist; downgrading would erase "
                           "them. Keep revision 0011 or remove them first.")
    op.drop_index("uq_purchases_open_pack", table_name="purchases")
    with op.batch_alter_table("purchases") as batch:
        batch.drop_constraint(op.f("ck_purchases_pack_terms"), type_="check")
        batch.drop_constraint(op.f("ck_purchases_one_item"), type_="check")
        batch.create_check_constraint(op.f("ck_purchases_one_item"), OLD_ONE_ITEM)
        batch.drop_constraint(op.f("fk_purchases_credit_pack_id_credit_packs"),
                              type_="foreignkey")
        batch.drop_column("pack_valid_days")
        batch.drop_column("pack_credits")
        batch.drop_column("credit_pack_id")
    op.drop_index("idx_credit_packs_active", table_name="credit_packs")
    op.drop_table("credit_packs")
