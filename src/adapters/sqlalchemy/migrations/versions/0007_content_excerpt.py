"""A creator-set excerpt on content items: the preview readers see instead of the body.

Revision ID: 0007_content_excerpt
Revises: 0006_commerce
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_content_excerpt"
down_revision: str | None = "0006_commerce"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("content") as batch:
        batch.add_column(sa.Column("excerpt", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("content") as batch:
        batch.drop_column("excerpt")
