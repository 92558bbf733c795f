"""record versions (echo filter) and an index on links by item key

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_versions",
        sa.Column("org", sa.String(length=100), nullable=False),
        sa.Column("system", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("org", "system", "kind", "record_id"),
    )
    op.create_index("ix_links_item", "backlog_links", ["org", "item_key"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_links_item", table_name="backlog_links")
    op.drop_table("record_versions")
