"""an index on feedback records by (org, record_id): the write-back pages through them in that order

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # without it every write-back page scanned and sorted all of an org's feedback (quadratic)
    op.create_index("ix_feedback_record", "feedback_records", ["org", "record_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_feedback_record", table_name="feedback_records")
