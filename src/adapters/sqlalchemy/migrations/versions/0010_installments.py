"""Bookings paid in monthly installments: the card saved with the first payment, and
one row per installment that the worker charges when it falls due. And recurring
classes are now booked as a whole series unless ``payment_options.pay_per_session``:
the classes that exist were booked session by session, so they keep that.

Revision ID: 0010_installments
Revises: 0009_offerings
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from adapters.sqlalchemy.types import JSONDocument, UTCDateTime, UUIDKey

revision: str = "0010_installments"
down_revision: str | None = "0009_offerings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "status IN ('scheduled', 'charging', 'paid', 'failed', 'canceled')"
OPEN = "status IN ('scheduled', 'charging')"


def upgrade() -> None:
    with op.batch_alter_table("offering_bookings") as batch:
        batch.add_column(sa.Column("saved_payment_method", sa.String(255), nullable=True))
    op.create_table(
        "booking_installments",
        sa.Column("id", UUIDKey, nullable=False),
        sa.Column("booking_id", UUIDKey, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="scheduled"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("stripe_payment_intent_id", sa.String(255), nullable=True),
        sa.Column("paid_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.Column("updated_at", UTCDateTime, nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.CheckConstraint(STATUSES, name=op.f("ck_booking_installments_status")),
        sa.CheckConstraint("amount > 0 AND number >= 1 AND attempts >= 0",
                           name=op.f("ck_booking_installments_positive")),
        sa.ForeignKeyConstraint(["booking_id"], ["offering_bookings.id"], ondelete="CASCADE",
                                name=op.f("fk_booking_installments_booking_id_offering_bookings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_installments")),
        sa.UniqueConstraint("booking_id", "number",
                            name=op.f("uq_booking_installments_booking_id_number")),
    )
    op.create_index("idx_booking_installments_due", "booking_installments", ["due_at"],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_index("uq_booking_installments_intent", "booking_installments",
                    ["stripe_payment_intent_id"], unique=True)
    offerings = sa.table("offerings", sa.column("id", UUIDKey),
                         sa.column("offering_type", sa.String),
                         sa.column("payment_options", JSONDocument))
    bind = op.get_bind()
    classes = bind.execute(sa.select(offerings.c.id, offerings.c.payment_options).where(
        offerings.c.offering_type == "recurring_fixed")).all()
    for offering_id, options in classes:
        bind.execute(sa.update(offerings).where(offerings.c.id == offering_id).values(
            payment_options={**(options or {}), "pay_per_session": True}))


def downgrade() -> None:
    # The options this revision's code knows are unknown before it (and refused there).
    offerings = sa.table("offerings", sa.column("id", UUIDKey),
                         sa.column("payment_options", JSONDocument))
    bind = op.get_bind()
    for offering_id, options in bind.execute(
            sa.select(offerings.c.id, offerings.c.payment_options)).all():
        kept = {k: v for k, v in (options or {}).items()
                if k not in ("pay_per_session", "installments")}
        if kept != (options or {}):
            bind.execute(sa.update(offerings).where(offerings.c.id == offering_id)
                         .values(payment_options=kept))
    op.drop_index("uq_booking_installments_intent", table_name="booking_installments")
    op.drop_index("idx_booking_installments_due", table_name="booking_installments")
    op.drop_table("booking_installments")
    with op.batch_alter_table("offering_bookings") as batch:
        batch.drop_column("saved_payment_method")
